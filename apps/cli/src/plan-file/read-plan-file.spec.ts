import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { equals } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { UsageError } from "../usage-error";
import { readPlanFile } from "./read-plan-file";

const dir = fs.mkdtempSync(path.join(tmpdir(), "plan-file-"));
const write = (name: string, text: string) => {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
};
const refusal = (file: string): UsageError => {
  try {
    readPlanFile(dir, file);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`${file} was accepted`);
};

const YAML_PLAN = `# The Pro plan, as a billing person writes it
key: pro
name: Pro
currency: USD
billing_interval: BILLING_INTERVAL_MONTH
recurring_fee:
  amount: 20
components:
  - key: tokens
    meter_key: tokens
    display_name: Tokens
    price:
      graduated:
        tiers:
          - { up_to: 1000, unit_amount: 0.002 }
          - { up_to: 10000, unit_amount: 0.0015 }
          - unit_amount: 0.000000000001 # 10⁻¹², past a double's exact digits
`;

const JSON_PLAN = {
  key: "pro",
  name: "Pro",
  currency: "USD",
  billingInterval: "BILLING_INTERVAL_MONTH",
  recurringFee: { amount: "20" },
  components: [
    {
      key: "tokens",
      meterKey: "tokens",
      displayName: "Tokens",
      price: { graduated: { tiers: [{ upTo: "1000", unitAmount: "0.002" }, { upTo: "10000", unitAmount: "0.0015" }, { unitAmount: "0.000000000001" }] } },
    },
  ],
};

test("a YAML plan reads as the same Plan as its JSON, decimals exactly as written", () => {
  const fromYaml = readPlanFile(dir, write("pro.yaml", YAML_PLAN));
  const fromJson = readPlanFile(dir, write("pro.json", JSON.stringify(JSON_PLAN)));
  expect(equals(rating.PlanSchema, fromYaml, fromJson)).toBe(true);
  const tiers = fromYaml.components[0]!.pricing.value as rating.Price;
  expect(tiers.model.case === "graduated" && tiers.model.value.tiers.map((t) => t.unitAmount)).toEqual(["0.002", "0.0015", "0.000000000001"]);
  expect(readPlanFile(dir, write("pro.yml", YAML_PLAN)).recurringFee?.amount).toBe("20");
});

test("every shape mistake in a YAML file is named by the services' field path and its line", () => {
  const bad = YAML_PLAN.replace("billing_interval: BILLING_INTERVAL_MONTH", "billing_interval: MONTHLY\nbilling_intervall: x")
    .replace("- { up_to: 10000, unit_amount: 0.0015 }", "- { up_to: [10000], unit_amount: 0.0015 }")
    .replace("    price:\n", "    dimensional_price: {}\n    price:\n");
  const err = refusal(write("bad.yaml", bad));
  expect(err.message).toBe("bad.yaml: not a tally.rating.v1.Plan");
  expect(err.fieldViolations.map((v) => `${v.field}: ${v.description}`)).toEqual([
    expect.stringMatching(/^plan\.billing_interval: must be one of BILLING_INTERVAL_DAY, BILLING_INTERVAL_MONTH, .*, got "MONTHLY" \(line 5\)$/),
    expect.stringMatching(/^plan\.billing_intervall: unknown field; Plan has key, .* \(line 6\)$/),
    expect.stringMatching(/^plan\.components\[0\]\.price: only one of .* may be set \(dimensional_price is too\) \(line 14\)$/),
    "plan.components[0].price.graduated.tiers[1].up_to: must be a string, got a list (line 18)",
  ]);
});

test("a JSON file's mistakes get the same paths; a JSON number for a decimal is refused, not rounded", () => {
  const plan = structuredClone(JSON_PLAN) as any;
  plan.components[0].price.graduated.tiers[1].upTo = 10000;
  const err = refusal(write("bad.json", JSON.stringify(plan)));
  expect(err.fieldViolations).toEqual([
    { field: "plan.components[0].price.graduated.tiers[1].up_to", code: "invalid_shape", description: 'must be a string (decimals are written as strings, e.g. "10000"), got 10000' },
  ]);
});

test("unreadable files: YAML syntax with its line and column, duplicate keys, a missing file", () => {
  expect(refusal(write("syntax.yaml", "key: pro\ncomponents: [\n")).message).toMatch(/^syntax\.yaml:3:1: /);
  expect(refusal(write("twice.yaml", "key: pro\nkey: team\n")).message).toMatch(/^twice\.yaml:2:1: Map keys must be unique/);
  expect(refusal("missing.yaml").message).toBe("missing.yaml: ENOENT");
  expect(refusal(write("list.yaml", "- key: pro\n")).fieldViolations[0]).toMatchObject({ field: "plan", description: "must be an object (Plan), got a list (line 1)" });
});
