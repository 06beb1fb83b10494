import { decodePageToken, encodePageToken, InvalidArgumentError, pageSize, type FieldViolation } from "@tally/platform";

/** Validates a customer's list paging; the token (platform format) carries the last row's sequence. */
export function page(customerId: string, requestedSize: number, pageToken: string): { limit: number; before: bigint | null } {
  const problems: FieldViolation[] = [];
  if (customerId === "") problems.push({ field: "customer_id", message: "is required" });
  let limit = 0;
  let before: bigint | null = null;
  for (const read of [() => (limit = pageSize(requestedSize)), () => (before = seqOf(decodePageToken(pageToken, ["seq"])))]) {
    try {
      read();
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      problems.push(...err.violations);
    }
  }
  if (problems.length > 0) throw new InvalidArgumentError(problems);
  return { limit, before };
}

function seqOf(cursor: Record<string, string> | undefined): bigint | null {
  if (!cursor) return null;
  if (!/^\d{1,19}$/.test(cursor.seq!)) throw new InvalidArgumentError({ field: "page_token", message: "is not a token this API returned", code: "invalid_value" });
  return BigInt(cursor.seq!);
}

export const encodeToken = (seq: bigint) => encodePageToken({ seq: String(seq) });
