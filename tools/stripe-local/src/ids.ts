import { randomBytes } from "node:crypto";

/** Stripe-looking ids: a type prefix and 24 random characters, e.g. `pi_3Q…`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(18).toString("base64url").replace(/[-_]/g, "x").slice(0, 24)}`;
}
