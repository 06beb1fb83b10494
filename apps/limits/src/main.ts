import { loadServiceConfigWithSettings, runServiceMain } from "@tally/platform";
import { limitsService } from "./limits-service";
import { loadLimitsSettings } from "./settings";

void runServiceMain(limitsService, () => loadServiceConfigWithSettings("limits", [loadLimitsSettings]));
