import * as fs from "node:fs";
import * as path from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from "yaml";
import { rating } from "@tally/contracts";
import { UsageError } from "../usage-error";
import { jsonShapeViolations } from "./json-shape";

/**
 * Reads a plan file: YAML (`.yaml`, `.yml`) or JSON (anything else), both in the proto3 JSON
 * mapping of tally.rating.v1.Plan (field names as in the .proto or camelCase, enums by name,
 * decimals as strings). A file that does not fit is refused here, every mistake named by the same
 * path the rating service uses (`plan.components[0].price.graduated.tiers[1].up_to`), with its line
 * in a YAML file; the service then validates the content.
 */
export function readPlanFile(cwd: string, file: string): rating.Plan {
  const text = readText(path.resolve(cwd, file), file);
  const yaml = /\.ya?ml$/i.test(file);
  const { json, lineOf } = yaml ? parseYaml(text, file) : parseJson(text, file);
  const violations = jsonShapeViolations(rating.PlanSchema, json, "plan");
  if (violations.length > 0) {
    throw new UsageError(
      `${file}: not a tally.rating.v1.Plan`,
      violations.map((v) => {
        const line = lineOf(v.keys);
        return { field: v.field, code: "invalid_shape", description: line ? `${v.description} (line ${line})` : v.description };
      }),
    );
  }
  try {
    return fromJson(rating.PlanSchema, json as JsonValue);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

interface Parsed {
  json: unknown;
  /** 1-based line of the value at these keys, when the format tells. */
  lineOf(keys: (string | number)[]): number | undefined;
}

function readText(full: string, file: string): string {
  try {
    return fs.readFileSync(full, "utf8");
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseJson(text: string, file: string): Parsed {
  try {
    return { json: JSON.parse(text), lineOf: () => undefined };
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

function parseYaml(text: string, file: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const [first] = doc.errors;
  if (first) {
    const at = lines.linePos(first.pos[0]);
    throw new UsageError(`${file}:${at.line}:${at.col}: ${first.message}`);
  }
  keepNumbersAsWritten(doc);
  return {
    json: doc.toJS(),
    lineOf: (keys) => {
      const range = keyRange(doc, keys);
      return range ? lines.linePos(range[0]).line : undefined;
    },
  };
}

type Range = [number, number, number];

/** Where the value at `keys` is named: its key for a map entry (a block value starts a line later), else the node. */
function keyRange(doc: Document, keys: (string | number)[]): Range | undefined {
  if (keys.length === 0) return (doc.contents as { range?: Range } | null)?.range;
  const parent = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
  const last = keys[keys.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
    return (pair?.key as { range?: Range } | undefined)?.range;
  }
  if (isSeq(parent) && typeof last === "number") return (parent.items[last] as { range?: Range } | undefined)?.range;
  return undefined;
}

/**
 * YAML reads `unit_amount: 0.0015` as a float; a plan's decimals are strings and must not pass
 * through binary floating point, so every number keeps the text it was written as (the JSON
 * mapping accepts integers as text too).
 */
function keepNumbersAsWritten(doc: Document): void {
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && (typeof node.value === "number" || typeof node.value === "bigint")) node.value = node.source ?? String(node.value);
    },
  });
}
