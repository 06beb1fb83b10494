import { loadServiceConfig, startService } from "@tally/platform";
import { createPaymentsService } from "../payments-service";

// A payments instance in its own process, configured by the environment, for tests that kill it
// with SIGKILL mid-attempt. Prints "ready" once it consumes.
void (async () => {
  await startService(createPaymentsService(), loadServiceConfig("payments"));
  process.stdout.write("ready\n");
})();
