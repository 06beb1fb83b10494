import { loadServiceConfig, runServiceMain } from "@tally/platform";
import { invoicingService } from "./invoicing-service";

void runServiceMain(invoicingService, () => loadServiceConfig("invoicing"));
