import type { Metadata } from "@grpc/grpc-js";
import type { Principal } from "./api-keys";

/** What a handler knows about the call besides its request. */
export interface CallContext {
  /** `/tally.metering.v1.Meter/Record` */
  method: string;
  principal: Principal;
  metadata: Metadata;
}
