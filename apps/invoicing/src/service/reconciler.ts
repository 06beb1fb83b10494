import { InvalidArgumentError, type Pool } from "@tally/platform";
import type { CreditBurns } from "../adapter/credit-ledger";
import { duplicatePeriods, issuedInvoicesIn, numbered } from "../adapter/invoice-store";
import { adjustmentsFrom } from "../adapter/late-adjustment-store";
import type { RatingPlans } from "../adapter/plan-source";
import type { MeteringUsage } from "../adapter/usage-source";
import { checkArithmetic, checkNumbering, rederiveLines, type Finding, type PlanSpec, type SegmentUsage } from "../domain/reconciliation";
import type { Invoice } from "../domain/types";

/** Invoices re-derived at once: each needs a few metering and limits calls. */
const CONCURRENCY = 16;

/**
 * ReconcileInvoices: re-derives every issued invoice of a range from sources other than the ones
 * that built it — metering's raw usage instead of rating's running aggregates, the pricing library
 * instead of rating's preview, limits' ledger read again — and checks the invariants. Read-only.
 * Without metering or rating configured, only the invoices' own arithmetic and the invariants are
 * checked.
 */
export class Reconciler {
  constructor(
    private readonly pool: Pool,
    private readonly credits: CreditBurns,
    private readonly plans: RatingPlans | undefined,
    private readonly usage: MeteringUsage | undefined,
  ) {}

  async run(from: Date | undefined, to: Date | undefined): Promise<{ checked: number; findings: Finding[] }> {
    if (!from || !to) throw new InvalidArgumentError({ field: "period_start", message: "is required (start and end)" });
    if (to.getTime() <= from.getTime()) throw new InvalidArgumentError({ field: "period_start.end", message: "must be after period_start.start" });
    const invoices = await issuedInvoicesIn(this.pool, from, to);
    const findings: Finding[] = [];
    let next = 0;
    const worker = async () => {
      while (next < invoices.length) findings.push(...(await this.one(invoices[next++]!)));
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    for (const d of await duplicatePeriods(this.pool, from, to)) {
      findings.push({ invoiceId: d.ids.join(","), number: "", check: "one_invoice_per_period", ref: `${d.subscriptionId}@${d.periodStart.toISOString()}`, expected: "1", actual: String(d.ids.length) });
    }
    findings.push(...checkNumbering(await numbered(this.pool, [...new Set(invoices.map((i) => i.sequencePrefix))])));
    return { checked: invoices.length, findings };
  }

  private async one(i: Invoice): Promise<Finding[]> {
    const burned = await this.credits.burned(i.customerId, i.subscriptionId, i.period.start);
    const out = checkArithmetic(i, burned);
    if (!this.plans || !this.usage) return out;
    const plans = new Map<number, PlanSpec>();
    const usage = new Map<number, SegmentUsage>();
    for (const seg of i.segments) {
      const plan = await this.plans.get(seg.planKey, seg.planVersion);
      const key = seg.range.start.getTime();
      plans.set(key, plan);
      const byComponent: SegmentUsage = new Map();
      for (const c of plan.components) {
        byComponent.set(c.key, await this.usage.quantities(i.customerId, c.meterKey, seg.range, c.dimensional?.dimension));
      }
      usage.set(key, byComponent);
    }
    const late = (await adjustmentsFrom(this.pool, [i.id])).get(i.id) ?? [];
    return [...out, ...rederiveLines(i, plans, usage, late)];
  }
}
