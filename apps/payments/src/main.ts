import { ConfigError, loadServiceConfig, runServiceMain } from "@tally/platform";
import { paymentsService } from "./payments-service";
import { loadPaymentsSettings } from "./payments-settings";

void runServiceMain(paymentsService, () => {
  // Both sets of variables are checked before anything starts, every problem reported at once.
  const problems: string[] = [];
  const collect = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const config = collect(() => loadServiceConfig("payments"));
  collect(() => loadPaymentsSettings());
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
});
