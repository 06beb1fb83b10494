/**
 * One rating instance in its own process, for the bench: started with the bench environment's
 * variables, it reports its address, then after every committed rating transaction the number
 * of events per bench message, the commit time (epoch ms, sub-millisecond) and the process's CPU
 * time so far (µs), over IPC.
 */
import { loadServiceConfig, startService, systemClock } from "@tally/platform";
import { createRatingService, type RatingInternals } from "../src/rating-service";

async function main(): Promise<void> {
  let internals: RatingInternals | undefined;
  const service = await startService(
    createRatingService({}, (x) => (internals = x)),
    loadServiceConfig("rating"),
    { clock: systemClock },
  );
  internals!.rater.committed.push((events) => {
    const t = performance.timeOrigin + performance.now();
    const perMessage = new Map<string, number>();
    for (const e of events) {
      const message = e.id.slice(0, e.id.indexOf("-"));
      perMessage.set(message, (perMessage.get(message) ?? 0) + 1);
    }
    const cpu = process.cpuUsage();
    process.send?.({ type: "committed", t, perMessage: [...perMessage], cpuMicros: cpu.user + cpu.system });
  });
  process.send?.({ type: "ready", address: service.address });
  process.on("message", (m: { type?: string }) => {
    if (m.type !== "stop") return;
    service.stop().then(
      () => {
        process.send?.({ type: "stopped", batches: internals!.rater.stats.batches });
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
