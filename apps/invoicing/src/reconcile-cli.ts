// `npm run reconcile -- --period 2026-11`: asks a running invoicing service to re-derive every
// issued invoice whose period starts in that month (UTC) and prints what does not match, and
// the usage written off (not billed on purpose, with the reason; not a mismatch).
// Exit code 0 when everything reconciles, 1 when there are findings, 2 on a usage or call error.
// INVOICING_ADDRESS (127.0.0.1:50054) and TALLY_API_KEY (the local dev key) say where and who.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invoicing } from "@tally/contracts";
import { createServiceClient } from "@tally/platform";

export function monthRange(period: string): { start: Date; end: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new Error(`--period must be YYYY-MM, got "${period}"`);
  const start = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
  return { start, end: new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1)) };
}

export async function reconcileCommand(argv: string[], env: Record<string, string | undefined>, print: (line: string) => void): Promise<number> {
  const at = argv.indexOf("--period");
  let range: { start: Date; end: Date };
  try {
    range = monthRange(at >= 0 ? (argv[at + 1] ?? "") : "");
  } catch (err) {
    print(`usage: npm run reconcile -- --period YYYY-MM (${(err as Error).message})`);
    return 2;
  }
  const { client, close } = createServiceClient(invoicing.Invoicing, env.INVOICING_ADDRESS ?? "127.0.0.1:50054", env.TALLY_API_KEY ?? "tally_dev_key_change_me");
  try {
    const started = Date.now();
    const r = await client.reconcileInvoices({ periodStart: { start: timestampFromDate(range.start), end: timestampFromDate(range.end) } });
    print(`reconciled ${r.invoicesChecked} invoices with periods starting ${range.start.toISOString().slice(0, 10)} to ${range.end.toISOString().slice(0, 10)} in ${Date.now() - started} ms`);
    for (const f of r.findings) {
      print(`MISMATCH ${f.check} invoice=${f.invoiceId}${f.number ? ` (${f.number})` : ""}${f.ref ? ` ref=${f.ref}` : ""} expected=${f.expected} actual=${f.actual}`);
    }
    for (const w of r.writtenOff) {
      print(`WRITTEN OFF invoice=${w.invoiceId} (${w.number}) ref=${w.ref} quantity=${w.quantity} amount=${w.amount} events=${w.eventIds.join(",")}: ${w.reason}`);
    }
    print(r.findings.length === 0 ? "0 mismatches" : `${r.findings.length} mismatches`);
    return r.findings.length === 0 ? 0 : 1;
  } catch (err) {
    print(`reconcile failed: ${(err as Error).message}`);
    return 2;
  } finally {
    close();
  }
}

if (require.main === module) {
  void reconcileCommand(process.argv.slice(2), process.env, (line) => console.log(line)).then((code) => process.exit(code));
}
