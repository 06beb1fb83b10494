import { loadServiceConfig, runServiceMain } from "@tally/platform";
import { paymentsService } from "./payments-service";

void runServiceMain(paymentsService, () => loadServiceConfig("payments"));
