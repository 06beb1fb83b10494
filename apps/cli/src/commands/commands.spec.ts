import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TEST_KEYS } from "@tally/platform/testing";
import { ExitCode } from "../exit-codes";
import { eventually, startCliStack, type CliRun, type CliStack } from "../testing/cli-harness";

const TYPE = "llm.completion";
const CUSTOMER = "cus_42";

/** Graduated tokens: 1,000 at 0.002, up to 10,000 at 0.0015, then 0.001. */
const PLAN = {
  key: "pro",
  name: "Pro",
  currency: "USD",
  billingInterval: "BILLING_INTERVAL_MONTH",
  recurringFee: { amount: "20", timing: "FEE_TIMING_IN_ADVANCE" },
  components: [
    {
      key: "tokens",
      meterKey: "tokens",
      displayName: "Tokens",
      price: { graduated: { tiers: [{ upTo: "1000", unitAmount: "0.002" }, { upTo: "10000", unitAmount: "0.0015" }, { unitAmount: "0.001" }] } },
    },
  ],
};

let stack: CliStack;
let dir: string;

function planFile(name: string, plan: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof plan === "string" ? plan : JSON.stringify(plan));
  return file;
}

function ok(run: CliRun): CliRun {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return run;
}

function json<T = any>(run: CliRun): T {
  return JSON.parse(ok(run).stdout) as T;
}

beforeAll(async () => {
  stack = await startCliStack({ rating: true, limits: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-cli-"));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("meters", () => {
  it("creates a meter and shows it as a table, and lists meters as JSON for scripts", async () => {
    const created = ok(await stack.tally(["meters", "create", "tokens", "--event-type", TYPE, "--aggregation", "sum", "--value-property", "tokens", "--group-by", "model"]));
    expect(created.stdout).toMatch(/^key\s+tokens$/m);
    expect(created.stdout).toMatch(/^aggregation\s+sum$/m);
    const list = json(await stack.tally(["meters", "list", "--json"]));
    expect(list.meters).toEqual([expect.objectContaining({ key: "tokens", aggregation: "AGGREGATION_SUM", groupBy: ["model"], state: "METER_STATE_ACTIVE" })]);
    const table = ok(await stack.tally(["meters", "list"])).stdout;
    expect(table).toMatch(/│ tokens │ llm\.completion │ sum +│ tokens +│ model +│ active │/);
  });

  it("prints the status, the error code and every field violation, and exits 2", async () => {
    const run = await stack.tally(["meters", "create", "Bad-Key", "--event-type", TYPE, "--aggregation", "count", "--value-property", "x"]);
    expect(run.code).toBe(ExitCode.INVALID);
    expect(run.stderr).toMatch(/^error: INVALID_ARGUMENT/);
    expect(run.stderr).toMatch(/^ {2}meter\.key: .+\[invalid_pattern\]$/m);
    expect(run.stderr).toMatch(/^ {2}meter\.value_property: /m);
  });

  it("exits 3 for an unknown meter, with the error as JSON on stderr under --json", async () => {
    const run = await stack.tally(["meters", "get", "nope", "--json"]);
    expect(run.code).toBe(ExitCode.NOT_FOUND);
    expect(run.stdout).toBe("");
    expect(JSON.parse(run.stderr)).toEqual({ error: expect.objectContaining({ status: "NOT_FOUND", exitCode: 3 }) });
  });

  it("exits 4 for a key without the scope, and 1 for a bad option", async () => {
    const denied = await stack.tally(["meters", "create", "other", "--event-type", TYPE, "--aggregation", "count"], { env: { TALLY_API_KEY: TEST_KEYS.read } });
    expect(denied.code).toBe(ExitCode.UNAVAILABLE);
    expect(denied.stderr).toMatch(/^error: PERMISSION_DENIED/);
    const usage = await stack.tally(["meters", "create", "other", "--event-type", TYPE, "--aggregation", "median"]);
    expect(usage.code).toBe(ExitCode.USAGE);
    expect(usage.stderr).toContain("must be one of count, sum, max, unique_count, latest");
  });
});

describe("plans", () => {
  it("creates a plan from a JSON file once rating knows the meter", async () => {
    const file = planFile("pro.json", PLAN);
    const run = await eventually(async () => ok(await stack.tally(["plans", "create", file])));
    expect(run.stdout).toMatch(/^version\s+1$/m);
    expect(run.stdout).toMatch(/│ tokens +│ tokens │ graduated, 3 tiers │/);
  }, 30_000);

  it("shows the service's field paths for an invalid plan (exit 2) and the parse error for a malformed file (exit 1)", async () => {
    const bad = structuredClone(PLAN) as any;
    bad.key = "pro_bad";
    bad.components[0].price.graduated.tiers[0].upTo = "1,000";
    bad.components[0].price.graduated.tiers[2].unitAmount = "-1";
    const run = await stack.tally(["plans", "create", planFile("bad.json", bad)]);
    expect(run.code).toBe(ExitCode.INVALID);
    expect(run.stderr).toMatch(/^ {2}plan\.components\[0\]\.price\.graduated\.tiers\[0\]\.up_to: /m);
    expect(run.stderr).toMatch(/^ {2}plan\.components\[0\]\.price\.graduated\.tiers\[2\]\.unit_amount: /m);

    const malformed = await stack.tally(["plans", "create", planFile("typo.json", { ...PLAN, billingIntervall: "X" })]);
    expect(malformed.code).toBe(ExitCode.USAGE);
    expect(malformed.stderr).toContain("billingIntervall");
  });

  it("creates a plan from a YAML file, and the service's violations in one name the same paths", async () => {
    const yaml = (key: string, secondUpTo: string) => `key: ${key}
name: Team
currency: USD
billing_interval: BILLING_INTERVAL_MONTH
components:
  - key: tokens
    meter_key: tokens
    display_name: Tokens
    price:
      graduated:
        tiers:
          - { up_to: 1000, unit_amount: 0.002 }
          - { up_to: ${secondUpTo}, unit_amount: 0.0015 }
          - unit_amount: 0.001
`;
    const created = json(ok(await stack.tally(["plans", "create", planFile("team.yaml", yaml("team", "10000")), "--json"])));
    expect(created.plan.components[0].price.graduated.tiers.map((t: { upTo?: string; unitAmount: string }) => [t.upTo ?? "", t.unitAmount])).toEqual([
      ["1000", "0.002"],
      ["10000", "0.0015"],
      ["", "0.001"],
    ]);
    const refused = await stack.tally(["plans", "create", planFile("team-bad.yaml", yaml("team_bad", "'1,000'"))]);
    expect(refused.code).toBe(ExitCode.INVALID);
    expect(refused.stderr).toMatch(/^ {2}plan\.components\[0\]\.price\.graduated\.tiers\[1\]\.up_to: /m);
    const shapeFile = planFile("team-shape.yaml", yaml("team_shape", "[10000]"));
    const shape = await stack.tally(["plans", "create", shapeFile]);
    expect(shape.code).toBe(ExitCode.USAGE);
    expect(shape.stderr).toBe(
      `error: ${shapeFile}: not a tally.rating.v1.Plan\n` +
        "  plan.components[0].price.graduated.tiers[1].up_to: must be a string, got a list (line 13) [invalid_shape]\n",
    );
  });

  it("publishes a new version with update and lists the versions", async () => {
    ok(await stack.tally(["plans", "update", planFile("pro2.json", { ...PLAN, name: "Pro 2" }), "--expected-version", "1"]));
    const stale = await stack.tally(["plans", "update", planFile("pro3.json", PLAN), "--expected-version", "1"]);
    expect(stale.code).toBe(ExitCode.INVALID);
    expect(stale.stderr).toMatch(/^error: ABORTED/);
    const versions = json(await stack.tally(["plans", "list", "--plan", "pro", "--json"]));
    expect(versions.plans.map((p: { version: number; name: string }) => [p.version, p.name])).toEqual([
      [2, "Pro 2"],
      [1, "Pro"],
    ]);
  });
});

describe("a customer's subscription, usage, tier, preview, forecast, credits and limits", () => {
  let subscriptionId: string;

  beforeAll(async () => {
    const created = json(await stack.tally(["subscriptions", "create", CUSTOMER, "--plan", "pro", "--plan-version", "1", "--start", "1h", "--anchor", "anniversary", "--json"]));
    subscriptionId = created.subscription.id;
    expect(created.subscription).toMatchObject({ customerId: CUSTOMER, planKey: "pro", planVersion: 1, status: "SUBSCRIPTION_STATUS_ACTIVE" });
    // 1,200 tokens: 800 on gpt-4o, 400 on claude, recorded 30 minutes ago.
    const time = new Date(Date.now() - 30 * 60_000).toISOString();
    const events = [
      { id: "u1", model: "gpt-4o", tokens: 500 },
      { id: "u2", model: "gpt-4o", tokens: 300 },
      { id: "u3", model: "claude", tokens: 400 },
    ].map((e) => JSON.stringify({ id: e.id, customer_id: CUSTOMER, event_type: TYPE, time, properties: { model: e.model, tokens: e.tokens } }));
    fs.writeFileSync(path.join(dir, "usage.ndjson"), events.join("\n"));
    ok(await stack.tally(["import", "usage.ndjson"], { cwd: dir }));
  }, 60_000);

  it("usage: one row per window and model with a bar scaled to the largest", async () => {
    const run = ok(await stack.tally(["usage", CUSTOMER, "--meter", "tokens", "--by", "model", "--window", "day", "--from", "2d"]));
    const rows = run.stdout.split("\n").filter((l) => /gpt-4o|claude/.test(l) && l.includes("│"));
    expect(rows).toHaveLength(2);
    const barOf = (model: string) => rows.find((r) => r.includes(model))!.split("│")[4]!.trim();
    // 800 is the largest: a full 20-cell bar; 400 is half of it.
    expect(barOf("gpt-4o")).toBe("█".repeat(20));
    expect(barOf("claude")).toBe("█".repeat(10));
  });

  it("tier: the current tier and progress to the next threshold", async () => {
    const usage = await eventually(async () => {
      const r = json(await stack.tally(["tier", CUSTOMER, "--json"]));
      expect(r.components[0].quantity).toBe("1200");
      return r;
    });
    expect(usage.components[0]).toMatchObject({ tierIndex: 1, tierLowerBound: "1000", tierUpperBound: "10000", unitsToNextTier: "8800" });
    const table = ok(await stack.tally(["tier", CUSTOMER])).stdout;
    // 1000 × 0.002 + 200 × 0.0015 = 2.3; 200 of the 9,000 units of tier 2 is 2/90 of a 12-cell bar ≈ 2 eighths.
    expect(table).toMatch(/│ tokens +│ +│ 1200 +│ 2 +│ 1000 – 10000 │ 8800 +│ ▎ +│ 2\.3 USD │/);
  }, 30_000);

  it("preview and forecast: the period's lines and projection", async () => {
    const preview = ok(await stack.tally(["preview", CUSTOMER])).stdout;
    expect(preview).toMatch(/recurring_fee/);
    // 20 fee (an anniversary period starting now: whole, not prorated) + 2.3 usage
    expect(preview).toMatch(/^total\s+22\.30 USD$/m); // rounded totals carry the currency's minor digits
    const forecast = json(await stack.tally(["forecast", CUSTOMER, "--json"]));
    expect(forecast).toMatchObject({ subscriptionId, currency: "USD", amountToDate: "22.3" });
  });

  it("credits: grant, balance and ledger", async () => {
    const grant = json(await stack.tally(["credits", "grant", CUSTOMER, "--amount", "50", "--currency", "USD", "--idempotency-key", "g1", "--json"]));
    expect(grant.grant).toMatchObject({ customerId: CUSTOMER, amount: { currency: "USD", amount: "50" } });
    const balance = ok(await stack.tally(["credits", "balance", CUSTOMER])).stdout;
    expect(balance).toContain(grant.grant.id);
    const ledger = json(await stack.tally(["credits", "ledger", CUSTOMER, "--json"]));
    expect(ledger.entries[0]).toMatchObject({ kind: "LEDGER_ENTRY_KIND_GRANT", grantId: grant.grant.id });
    const customer = ok(await stack.tally(["customers", "show", CUSTOMER])).stdout;
    expect(customer).toMatch(/^credit balance\s+50 USD$/m);
    expect(customer).toMatch(/│ cus_42 +│ pro v1 │ active │/);
  });

  it("limits: set a hard cap, list it, and check against it (a denial exits 0)", async () => {
    await eventually(async () => ok(await stack.tally(["limits", "set", "--customer", CUSTOMER, "--meter", "tokens", "--value", "5000", "--alert", "80%"])));
    const list = ok(await stack.tally(["limits", "list", "--customer", CUSTOMER])).stdout;
    expect(list).toMatch(/customer cus_42 │ tokens │ hard_cap │ units +│ 5000 +│ 80% +│/);
    const denied = await eventually(async () => {
      const r = json(await stack.tally(["limits", "check", CUSTOMER, "--meter", "tokens", "--quantity", "3801", "--json"]));
      expect(r.currentUsage).toBe("1200");
      return r;
    });
    expect(denied.allowed).toBe(false);
    const allowed = ok(await stack.tally(["limits", "check", CUSTOMER, "--meter", "tokens", "--quantity", "3800"])).stdout;
    expect(allowed).toMatch(/^allowed\s+yes$/m);
    expect(allowed).toMatch(/^remaining\s+3800$/m);
  }, 30_000);

  it("subscriptions: change plan version and cancel", async () => {
    const changed = json(await stack.tally(["subs", "change", subscriptionId, "--plan", "pro", "--at-period-end", "--json"]));
    expect(changed.subscription.pendingChange).toMatchObject({ kind: "PENDING_CHANGE_KIND_PLAN_CHANGE", planKey: "pro", planVersion: 2 });
    const canceled = ok(await stack.tally(["subs", "cancel", subscriptionId]));
    expect(canceled.stdout).toMatch(/^status\s+canceled$/m);
    const gone = await stack.tally(["tier", CUSTOMER]);
    expect(gone.code).toBe(ExitCode.NOT_FOUND);
    expect(gone.stderr).toMatch(/^error: NOT_FOUND \(subscription_not_found\)/);
  });
});
