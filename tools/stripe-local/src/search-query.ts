import { invalidRequest } from "./stripe-error";

/**
 * The part of Stripe's search query language we serve: clauses joined by AND (or OR, not
 * mixed), each `field:'value'` (exact), `metadata['key']:'value'`, or `created` / `amount`
 * compared with `>`, `>=`, `<`, `<=`, `=` to a number.
 * https://docs.stripe.com/search#search-query-language
 */
export type Clause =
  | { field: string; metadataKey?: string; op: ":"; value: string }
  | { field: string; op: ">" | ">=" | "<" | "<=" | "="; value: number };

export interface SearchQuery {
  join: "AND" | "OR";
  clauses: Clause[];
}

const CLAUSE = /^\s*(metadata\[(['"])(.+?)\2\]|[a-z_]+)\s*(:|>=|<=|>|<|=)\s*(?:(['"])(.*?)\5|(-?\d+))\s*$/;

export function parseSearchQuery(query: string): SearchQuery {
  const hasAnd = / AND /.test(query);
  const hasOr = / OR /.test(query);
  if (hasAnd && hasOr) throw invalidRequest("Search queries cannot mix AND and OR.", "query");
  const join = hasOr ? "OR" : "AND";
  const clauses = query.split(new RegExp(` ${join} `)).map((text): Clause => {
    const m = CLAUSE.exec(text);
    if (!m) throw invalidRequest(`Unsupported search query clause: ${text.trim()}`, "query");
    const field = m[3] !== undefined ? "metadata" : m[1]!;
    if (m[4] === ":") {
      if (m[6] === undefined) throw invalidRequest(`Expected a quoted value in: ${text.trim()}`, "query");
      return { field, metadataKey: m[3], op: ":", value: m[6] };
    }
    if (m[7] === undefined) throw invalidRequest(`Expected a number in: ${text.trim()}`, "query");
    return { field, op: m[4] as ">" | ">=" | "<" | "<=" | "=", value: Number(m[7]) };
  });
  return { join, clauses };
}

export function matches(query: SearchQuery, object: Record<string, unknown>): boolean {
  const test = (c: Clause): boolean => {
    if (c.op === ":") {
      const actual = c.metadataKey !== undefined ? (object.metadata as Record<string, string>)[c.metadataKey] : object[c.field];
      return actual !== undefined && actual !== null && String(actual) === c.value;
    }
    const actual = Number(object[c.field]);
    switch (c.op) {
      case ">":
        return actual > c.value;
      case ">=":
        return actual >= c.value;
      case "<":
        return actual < c.value;
      case "<=":
        return actual <= c.value;
      case "=":
        return actual === c.value;
    }
  };
  return query.join === "AND" ? query.clauses.every(test) : query.clauses.some(test);
}
