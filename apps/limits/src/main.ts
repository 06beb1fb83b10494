import { loadServiceConfig, runServiceMain } from "@tally/platform";
import { limitsService } from "./limits-service";

void runServiceMain(limitsService, () => loadServiceConfig("limits"));
