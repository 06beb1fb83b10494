import { formatFaultTable } from "./chaos";
import type { MonthReport } from "./month-run";

const row = (label: string, value: string | number) => `  ${label.padEnd(44)} ${value}`;
const money = (by: Record<string, string>) => Object.entries(by).map(([k, v]) => `${k} ${v}`).join(", ") || "-";

/** The summary table `npm run month` prints. */
export function formatMonthReport(r: MonthReport): string {
  const lines = [
    `The month: seed ${r.options.seed}, ${r.options.customers} customers, ${r.options.events} events planned` +
      (r.options.chaos ? ` — CHAOS: ${r.options.natsNodes} NATS nodes, ${r.options.ratingInstances} rating and ${r.options.invoicingInstances} invoicing instances, ${r.faults.length} faults` : ""),
    "",
    "events",
    row("sent to metering (all kinds, incl. probes)", r.ingest.sent),
    row("accepted originals", r.ingest.accepted),
    row("re-sent copies / answered DUPLICATE", `${r.ingest.duplicatesSent} / ${r.ingest.duplicatesAnswered}`),
    row("malformed / answered REJECTED", `${r.ingest.malformedSent} / ${r.ingest.rejected}`),
    row("late inside grace (tally import) accepted", `${r.ingest.lateInGrace.accepted} (rejected ${r.ingest.lateInGrace.rejected})`),
    row("late after finalization (not billed)", r.ingest.lateAfterClose),
    row("unexpected answers", r.ingest.unexpected.length),
    "caps and credits",
    row("capped customers / caps hit", `${r.caps.customers} / ${r.caps.capsHit}`),
    row("checks / allowed / denied", `${r.caps.checks} / ${r.caps.allowed} / ${r.caps.denied}`),
    row("allowed after a first denial (smaller events)", r.caps.allowedAfterDenial),
    row("overshoot (units past a cap)", r.caps.overshoot),
    row("expiring grants at zero after expiry", `${r.caps.expiredGrantsAtZero} / ${r.caps.expiringGrants}`),
    "invoices",
    row("invoices", `${r.invoices.count} (${Object.entries(r.invoices.byStatus).map(([k, v]) => `${k.replace("INVOICE_STATUS_", "").toLowerCase()} ${v}`).join(", ")})`),
    row("totals", money(r.invoices.totalsByCurrency)),
    row("credits applied", money(r.invoices.creditsByCurrency)),
    row("recomputed totals", money(r.recomputation.expectedByCurrency)),
    row("lines compared / mismatches", `${r.recomputation.linesCompared} / ${r.recomputation.mismatches}`),
    "payments",
    row("charged / paid first try / recovered by dunning", `${r.payments.charged} / ${r.payments.succeededFirstTry} / ${r.payments.recoveredByDunning}`),
    row("uncollectible", r.payments.uncollectible),
    row("collected", money(r.payments.collectedByCurrency)),
    row("reconciliation: invoicing findings / payments mismatches", `${r.reconciliation.invoicingFindings} / ${r.reconciliation.paymentsMismatches}`),
    row("invoicing usage_billed = usage sent after close", `${r.reconciliation.invoicingLateAfterCloseFindings} (known gap: not billed later, #12)`),
    row("double charges", r.reconciliation.doubleCharges),
    row("invoice totals digest (same seed → same digest)", r.invoiceDigest),
    "performance",
    ...Object.entries(r.phasesSeconds).map(([k, v]) => row(`phase: ${k} (s)`, v.toFixed(1))),
    ...Object.entries(r.monthStepsSeconds ?? {}).map(([k, v]) => row(`  month step: ${k} (s)`, v.toFixed(1))),
    row("ingest events/s (RecordBatch, while rating runs)", r.ingest.eventsPerSecond),
    row("event → rated ms p50 / p99 / max (probes)", `${r.eventToRatedMs.p50} / ${r.eventToRatedMs.p99} / ${r.eventToRatedMs.max} (${r.eventToRatedMs.samples})`),
    row("period close s (for customers above)", r.periodCloseSeconds.toFixed(1)),
    row("CPU s per million events, per service", Object.entries(r.cpuSecondsPerMillionEvents).map(([k, v]) => `${k} ${v}`).join(", ")),
    "forecasts (MAPE of per-customer projected total vs invoice; revenue error by currency; range coverage)",
    ...r.forecasts.map((f) => row(`day ${f.day}`, `MAPE ${f.mapePercent}% over ${f.customers}; revenue ${Object.entries(f.revenueErrorPercent).map(([k, v]) => `${k} ${v}%`).join(", ")}; coverage ${f.coveragePercent}`)),
  ];
  if (r.options.chaos) {
    const manual = r.faults.filter((f) => f.manualRestarts.length > 0).length;
    lines.push(`faults (ready: every instance SERVING and every NATS node healthy; drained: every consumer's backlog worked off; from the fault)`, ...formatFaultTable(r.faults));
    lines.push(row("faults / needing a manual restart", `${r.faults.length} / ${manual}`));
  }
  if (r.recomputation.examples.length > 0) lines.push("mismatch examples:", ...r.recomputation.examples.map((m) => `  ${m.customerId} ${m.what}: expected ${m.expected}, got ${m.actual}`));
  if (r.reconciliation.examples.length > 0) lines.push("reconciliation examples:", ...r.reconciliation.examples.map((e) => `  ${e}`));
  lines.push("", r.failures.length === 0 ? "PASS: zero mismatches, zero lost, zero doubled, zero double charges" : `FAIL:\n${r.failures.map((f) => `  ${f}`).join("\n")}`);
  return lines.join("\n");
}
