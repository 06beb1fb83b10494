import { InvalidArgumentError, type Pool } from "@tally/platform";
import type { CreditBurns } from "../adapter/credit-ledger";
import { duplicatePeriods, issuedInvoicesIn, numbered } from "../adapter/invoice-store";
import { adjustmentsFrom } from "../adapter/late-adjustment-store";
import type { RatingPlans } from "../adapter/plan-source";
import type { RatingRefusedUsage } from "../adapter/refused-usage";
import type { MeteringUsage } from "../adapter/usage-source";
import { checkArithmetic, checkNumbering, rederiveLines, type Finding, type PlanSpec, type RefusedReading, type SegmentUsage, type WrittenOff } from "../domain/reconciliation";
import type { Invoice } from "../domain/types";

/** Invoices re-derived at once: each needs a few metering and limits calls. */
const CONCURRENCY = 16;

/**
 * ReconcileInvoices: re-derives every issued invoice of a range from sources other than the ones
 * that built it — metering's raw usage instead of rating's running aggregates, the pricing library
 * instead of rating's preview, limits' ledger read again — and checks the invariants. Read-only.
 * Without metering or rating configured, only the invoices' own arithmetic and the invariants are
 * checked. Usage rating refused as too late (its late window) is reported as written off, with
 * rating's reason, instead of as a mismatch.
 */
export class Reconciler {
  constructor(
    private readonly pool: Pool,
    private readonly credits: CreditBurns,
    private readonly plans: RatingPlans | undefined,
    private readonly usage: MeteringUsage | undefined,
    private readonly refused: RatingRefusedUsage | undefined,
  ) {}

  async run(from: Date | undefined, to: Date | undefined): Promise<{ checked: number; findings: Finding[]; writtenOff: WrittenOff[] }> {
    if (!from || !to) throw new InvalidArgumentError({ field: "period_start", message: "is required (start and end)" });
    if (to.getTime() <= from.getTime()) throw new InvalidArgumentError({ field: "period_start.end", message: "must be after period_start.start" });
    const invoices = await issuedInvoicesIn(this.pool, from, to);
    const findings: Finding[] = [];
    const writtenOff: WrittenOff[] = [];
    // A customer's refused readings, fetched once per run whatever the number of its invoices.
    const refusedByCustomer = new Map<string, Promise<RefusedReading[]>>();
    const refusedOf = (customerId: string) => {
      let p = refusedByCustomer.get(customerId);
      if (!p) refusedByCustomer.set(customerId, (p = this.refused ? this.refused.ofCustomer(customerId) : Promise.resolve([])));
      return p;
    };
    let next = 0;
    const worker = async () => {
      while (next < invoices.length) {
        const r = await this.one(invoices[next++]!, refusedOf);
        findings.push(...r.findings);
        writtenOff.push(...r.writtenOff);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    for (const d of await duplicatePeriods(this.pool, from, to)) {
      findings.push({ invoiceId: d.ids.join(","), number: "", check: "one_invoice_per_period", ref: `${d.subscriptionId}@${d.periodStart.toISOString()}`, expected: "1", actual: String(d.ids.length) });
    }
    findings.push(...checkNumbering(await numbered(this.pool, [...new Set(invoices.map((i) => i.sequencePrefix))])));
    return { checked: invoices.length, findings, writtenOff };
  }

  private async one(i: Invoice, refusedOf: (customerId: string) => Promise<RefusedReading[]>): Promise<{ findings: Finding[]; writtenOff: WrittenOff[] }> {
    const burned = await this.credits.burned(i.customerId, i.subscriptionId, i.period.start);
    const out = checkArithmetic(i, burned);
    if (!this.plans || !this.usage) return { findings: out, writtenOff: [] };
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
    const derived = rederiveLines(i, plans, usage, late, await refusedOf(i.customerId));
    return { findings: [...out, ...derived.findings], writtenOff: derived.writtenOff };
  }
}
