/**
 * The import's ceiling, in its own process like the CLI: Meter.RecordBatch driven directly, with
 * no file and no parsing. Every batch is built and encoded before the clock starts (with the
 * CLI's own encoder and grpc-js client, batches of the same size, as many in flight), so what is
 * timed is only the sending and metering's answers. `tally import`'s rate divided by this one is
 * the share of metering's ingest the CLI gets through, whatever the machine's load.
 *
 *   node --require tools/ts-node-register.js apps/cli/bench/record-batch-direct.ts <address> <key> <events> <batch> <in flight> <run id>
 *
 * Events go to customers "direct_<n>" (not the import's) with ids "<run id>_<n>", times spread
 * like the import file's. Prints one JSON line: { elapsedMs, eventsPerSecond, accepted, cpuMs }.
 */
import { encodeRecordBatch } from "../src/import/batch-encoder";
import { RecordBatchClient } from "../src/import/record-batch-client";
import type { ImportEvent } from "../src/import/usage-event";

async function main(): Promise<void> {
  const [address, key, eventsArg, batchArg, inFlightArg, run] = process.argv.slice(2);
  const events = Number(eventsArg);
  const batchSize = Number(batchArg);
  const inFlight = Number(inFlightArg);
  const spreadMs = Number(process.env.BENCH_IMPORT_SPREAD_MINUTES ?? 60) * 60_000;
  const now = Date.now();
  const batches: Buffer[] = [];
  for (let start = 0; start < events; start += batchSize) {
    const batch: ImportEvent[] = [];
    for (let i = start; i < Math.min(events, start + batchSize); i++) {
      batch.push({
        id: `${run}_${i}`,
        customerId: `direct_${i % 200}`,
        eventType: "llm.completion",
        timeMs: now - 60_000 - Math.floor((i / events) * spreadMs),
        properties: [
          ["model", i % 3 ? "gpt-4o" : "claude"],
          ["tokens", String((i % 2000) + 1)],
        ],
      });
    }
    batches.push(encodeRecordBatch(batch));
  }
  const client = new RecordBatchClient(address!, key!);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    while (next < batches.length) {
      const outcome = await client.send(batches[next++]!, 120_000);
      accepted += outcome.accepted;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  client.close();
  process.stdout.write(
    JSON.stringify({ elapsedMs: Math.round(elapsedMs), eventsPerSecond: Math.round((events * 1000) / elapsedMs), accepted, cpuMs: Math.round((cpu.user + cpu.system) / 1000) }) + "\n",
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
