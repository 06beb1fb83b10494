/**
 * Small string rules shared by event and meter validation.
 */

/** Length in Unicode code points ("characters" in the API docs), not UTF-16 units. */
export function codePointLength(value: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) surrogatePairs++;
  }
  return value.length - surrogatePairs;
}

/** Whether `value` has at most `max` characters; cheap for the common short string. */
export function fitsLength(value: string, max: number): boolean {
  return value.length <= max || codePointLength(value) <= max;
}

/**
 * Postgres text cannot hold U+0000. Rejecting it at the edge keeps one bad event from
 * failing a whole shared transaction.
 */
export function hasNul(value: string): boolean {
  return value.includes("\u0000");
}

/**
 * Orders strings by Unicode code point, which is the byte order of their UTF-8 encoding and
 * therefore Postgres's `COLLATE "C"` order. JavaScript's `<` compares UTF-16 units, which
 * disagrees for characters above U+FFFF versus U+E000–U+FFFF; where SQL and TypeScript must
 * agree on an order (LATEST tie-breaks, row order) this is the one both use.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return a.length - b.length;
}
