import { InvalidArgumentError } from "@tally/platform";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** Paging as every Tally list does it; the token is the opaque base64 of the last row's sequence. */
export function decodePage(pageSize: number, pageToken: string): { limit: number; before: string | null } {
  const problems: { field: string; message: string }[] = [];
  if (pageSize < 0) problems.push({ field: "page_size", message: `${pageSize} must be >= 0` });
  let before: string | null = null;
  if (pageToken !== "") {
    const raw = Buffer.from(pageToken, "base64url").toString();
    if (/^seq:\d{1,19}$/.test(raw)) before = raw.slice(4);
    else problems.push({ field: "page_token", message: `${JSON.stringify(pageToken)} is not a token this API returned` });
  }
  if (problems.length > 0) throw new InvalidArgumentError(problems);
  return { limit: pageSize === 0 ? DEFAULT_PAGE : Math.min(pageSize, MAX_PAGE), before };
}

export const encodePage = (seq: string) => Buffer.from(`seq:${seq}`).toString("base64url");
