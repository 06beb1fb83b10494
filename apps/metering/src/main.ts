import { loadServiceConfigWithSettings, runServiceMain } from "@tally/platform";
import { meteringService } from "./metering-service";
import { loadMeteringSettings } from "./settings";

void runServiceMain(meteringService, () => loadServiceConfigWithSettings("metering", [loadMeteringSettings]));
