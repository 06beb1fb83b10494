import { randomUUID } from "node:crypto";

/** Server-assigned ids: a kind prefix and 32 hex digits, e.g. "inv_3f2a…". */
export function newId(kind: "inv" | "cn" | "adj"): string {
  return `${kind}_${randomUUID().replace(/-/g, "")}`;
}
