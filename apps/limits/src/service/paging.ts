import { InvalidArgumentError } from "@tally/platform";
import { RULES } from "../domain/rules";

/** Validates list paging; tokens are the opaque base64 of the last row's sequence. */
export function page(customerId: string, pageSize: number, pageToken: string): { limit: number; before: bigint | null } {
  const problems: { field: string; message: string }[] = [];
  if (customerId === "") problems.push({ field: "customer_id", message: "is required" });
  if (pageSize < 0) problems.push({ field: "page_size", message: `${pageSize} must be >= 0` });
  let before: bigint | null = null;
  if (pageToken !== "") {
    const raw = Buffer.from(pageToken, "base64url").toString();
    if (/^seq:\d{1,19}$/.test(raw)) before = BigInt(raw.slice(4));
    else problems.push({ field: "page_token", message: `${JSON.stringify(pageToken)} is not a token this API returned` });
  }
  if (problems.length > 0) throw new InvalidArgumentError(problems);
  const limit = pageSize === 0 ? RULES.defaultPageSize : Math.min(pageSize, RULES.maxPageSize);
  return { limit, before };
}

export const encodeToken = (seq: bigint) => Buffer.from(`seq:${seq}`).toString("base64url");
