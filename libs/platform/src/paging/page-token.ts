import { InvalidArgumentError } from "../errors/errors";

/** page_size 0 means this; proto/README.md "Paging". */
export const DEFAULT_PAGE_SIZE = 100;
/** Larger page sizes are treated as this. */
export const MAX_PAGE_SIZE = 1000;

/** page_size: 0 → 100, above 1,000 → 1,000, negative → INVALID_ARGUMENT naming the field. */
export function pageSize(requested: number, field = "page_size"): number {
  if (requested < 0) throw new InvalidArgumentError({ field, message: `must be >= 0, got ${requested}`, code: "invalid_value" });
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * The one page-token format of every List rpc: base64url of a JSON object holding the cursor
 * (the last row's sort key) and the request fields a token is bound to. Opaque to clients.
 */
export function encodePageToken(cursor: Record<string, string>): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

/**
 * The cursor of a token this API returned; undefined for "" (first page). A token that is not
 * one of ours is INVALID_ARGUMENT on `field`; one issued for other values of the request fields
 * it is bound to (`bound`: request field name → value, stored in the token) is INVALID_ARGUMENT
 * on that request field.
 */
export function decodePageToken(token: string, keys: readonly string[], bound: Record<string, string> = {}, field = "page_token"): Record<string, string> | undefined {
  if (token === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const cursor = parsed as Record<string, unknown> | undefined;
  const ours = typeof cursor === "object" && cursor !== null && [...keys, ...Object.keys(bound)].every((k) => typeof cursor[k] === "string");
  if (!ours) throw new InvalidArgumentError({ field, message: "is not a token this API returned; pass next_page_token unchanged", code: "invalid_value" });
  for (const [k, v] of Object.entries(bound)) {
    if (cursor[k] !== v) throw new InvalidArgumentError({ field: k, message: "must stay the same between pages", code: "invalid_value" });
  }
  return cursor as Record<string, string>;
}
