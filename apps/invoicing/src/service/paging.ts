import { InvalidArgumentError } from "@tally/platform";

/** page_size: 0 → 100, capped at 1,000, negative rejected. */
export function pageSize(requested: number, field = "page_size"): number {
  if (requested < 0) throw new InvalidArgumentError({ field, message: `must be >= 0, got ${requested}` });
  return requested === 0 ? 100 : Math.min(requested, 1000);
}

/** Opaque page tokens: base64url JSON of the cursor fields. */
export function encodeCursor(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields)).toString("base64url");
}

export function decodeCursor(token: string, field: string, keys: string[]): Record<string, string> | undefined {
  if (!token) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof parsed === "object" && parsed !== null && keys.every((k) => typeof (parsed as Record<string, unknown>)[k] === "string")) {
      return parsed as Record<string, string>;
    }
  } catch {
    // fall through
  }
  throw new InvalidArgumentError({ field, message: "is not a token returned by this API" });
}
