export { invoicingService } from "./invoicing-service";
