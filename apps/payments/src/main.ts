import { loadServiceConfigWithSettings, runServiceMain } from "@tally/platform";
import { paymentsService } from "./payments-service";
import { loadPaymentsSettings } from "./payments-settings";

void runServiceMain(paymentsService, () => loadServiceConfigWithSettings("payments", [loadPaymentsSettings]));
