import { randomBytes } from "node:crypto";

/** Random bytes are drawn in blocks: one call per id showed up in the Check profile. */
const BLOCK = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

function random10(): string {
  if (offset + 10 > pool.length) {
    pool = randomBytes(BLOCK);
    offset = 0;
  }
  offset += 10;
  return pool.toString("hex", offset - 10, offset);
}

/**
 * Server-assigned ids, e.g. "res_0mwyp…": a prefix naming the kind, then a
 * time-ordered part (so ids sort roughly by creation) and 80 random bits.
 */
export function newId(prefix: "lim" | "res" | "grt" | "led" | "alr"): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, "0")}${random10()}`;
}
