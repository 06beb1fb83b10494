import { Decimal } from "@tally/pricing";
import { InvalidArgumentError, type Pool } from "@tally/platform";
import type { CreditBurns } from "../adapter/credit-ledger";
import { duplicatePeriods, issuedInvoicesIn, numbered } from "../adapter/invoice-store";
import { adjustmentsBilledBy, adjustmentsFrom } from "../adapter/late-adjustment-store";
import type { RatingPlans } from "../adapter/plan-source";
import type { RatingRefusedUsage } from "../adapter/refused-usage";
import type { MeteringUsage } from "../adapter/usage-source";
import { checkArithmetic, checkNumbering, rederiveLines, type Finding, type PlanSpec, type RefusedReading, type SegmentUsage, type WrittenOff } from "../domain/reconciliation";
import { isLateCredit, type LateAdjustment } from "../domain/late-usage";
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
    // Read once for the whole range: refused readings, and adjustments recorded from each invoice.
    const refused = this.refused && this.plans && this.usage ? await this.refused.byCustomer() : new Map<string, RefusedReading[]>();
    const late = await adjustmentsFrom(
      this.pool,
      invoices.map((i) => i.id),
    );
    const taken = await adjustmentsBilledBy(
      this.pool,
      invoices.map((i) => i.id),
    );
    let next = 0;
    const worker = async () => {
      while (next < invoices.length) {
        const i = invoices[next++]!;
        const r = await this.one(i, refused.get(i.customerId) ?? [], late.get(i.id) ?? [], taken.get(i.id) ?? []);
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

  private async one(i: Invoice, refused: RefusedReading[], late: LateAdjustment[], taken: LateAdjustment[]): Promise<{ findings: Finding[]; writtenOff: WrittenOff[] }> {
    // The invoice's credit: its period's burns in the ledger now, less what was burned after it
    // was issued (late credits recorded from it, for a later invoice), plus the late credits of
    // earlier periods it took. A burn neither taken nor recorded as a late credit is a finding.
    const credits = (list: LateAdjustment[]) => list.filter(isLateCredit).reduce((sum, a) => sum.plus(a.amount), new Decimal(0));
    const burned = await this.credits.burned(i.customerId, i.subscriptionId, i.period.start);
    const out = checkArithmetic(i, burned.minus(credits(late)).plus(credits(taken)));
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
    const derived = rederiveLines(i, plans, usage, late, refused);
    return { findings: [...out, ...derived.findings], writtenOff: derived.writtenOff };
  }
}
