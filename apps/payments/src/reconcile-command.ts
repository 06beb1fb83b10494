import { payments as pb } from "@tally/contracts";
import { createServiceClient } from "@tally/platform";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

/**
 * `npm run reconcile -w apps/payments -- --from 2026-03-01 --to 2026-04-01 --currency USD
 * [--address 127.0.0.1:50055]` with PAYMENTS_API_KEY (admin scope) in the environment: prints
 * the totals and one line per mismatch, and exits 1 when there is any.
 */
export async function runReconcile(argv: string[], env: Record<string, string | undefined>, print: (line: string) => void): Promise<number> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ""), argv[i + 1] ?? "");
  const from = new Date(args.get("from") ?? "");
  const to = new Date(args.get("to") ?? "");
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || !args.get("currency")) {
    print("usage: reconcile --from <ISO date> --to <ISO date> --currency <ISO 4217> [--address host:port]");
    return 2;
  }
  const { client, close } = createServiceClient(pb.Payments, args.get("address") ?? env.PAYMENTS_ADDRESS ?? "127.0.0.1:50055", env.PAYMENTS_API_KEY);
  try {
    const { reconciliation: r } = await client.getReconciliation({ range: { start: timestampFromDate(from), end: timestampFromDate(to) }, currency: args.get("currency")! });
    print(`invoiced ${r!.invoicedTotal}  collected ${r!.collectedTotal}  provider ${r!.providerCollectedTotal}  outstanding ${r!.outstandingTotal}  refunded ${r!.refundedTotal}  collected-on-voided ${r!.voidedCollectedTotal}  ${r!.currency}`);
    for (const m of r!.mismatches) {
      print(`${m.kind}\tinvoice=${m.invoiceId}\tattempt=${m.paymentAttemptId}\tprovider=${m.providerPaymentId}\ttally=${m.tallyAmount}\tprovider_amount=${m.providerAmount}`);
    }
    print(`${r!.mismatches.length} mismatch(es)`);
    return r!.mismatches.length === 0 ? 0 : 1;
  } finally {
    close();
  }
}

if (require.main === module) {
  void runReconcile(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`reconcile: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
