import { ConfigError, loadServiceConfig, runServiceMain } from "@tally/platform";
import { meteringService } from "./metering-service";
import { loadMeteringSettings } from "./settings";

void runServiceMain(meteringService, () => {
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
  const config = collect(() => loadServiceConfig("metering"));
  collect(() => loadMeteringSettings());
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
});
