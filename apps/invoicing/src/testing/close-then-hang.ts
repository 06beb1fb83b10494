// Child process for the crash test: starts invoicing on the given test environment with a rating
// that never answers, runs a billing cycle (which claims the subscription, transaction open), says
// "entered" once rating was called, and waits to be killed with SIGKILL.
import { startService, loadServiceConfig } from "@tally/platform";
import { ManualClock } from "@tally/platform/testing";
import type { PricedPeriod } from "../domain/types";
import { createInvoicingService } from "../invoicing-service";

const env = JSON.parse(process.argv[2]!) as Record<string, string>;
const clock = new ManualClock(process.argv[3]!);
const hanging = {
  price: () => {
    process.stdout.write("entered\n");
    return new Promise<PricedPeriod[]>(() => undefined);
  },
};
void (async () => {
  const definition = createInvoicingService({ cycleIntervalMs: 3_600_000 }, (i) => void i.cycle.run(), { pricer: hanging });
  await startService(definition, loadServiceConfig("invoicing", env), { clock });
})();
