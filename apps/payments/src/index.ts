export { paymentsService } from "./payments-service";
