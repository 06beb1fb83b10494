import { loadServiceConfigWithSettings, runServiceMain } from "@tally/platform";
import { invoicingService } from "./invoicing-service";
import { loadInvoicingSettings } from "./settings";

void runServiceMain(invoicingService, () => loadServiceConfigWithSettings("invoicing", [loadInvoicingSettings]));
