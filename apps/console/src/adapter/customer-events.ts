import { fromBinary } from "@bufbuild/protobuf";
import { limits, rating, SUBJECTS } from "@tally/contracts";
import { EventBus, type Logger } from "@tally/platform";

/** Subjects whose events change what a customer page shows, and how to read the customer ids. */
const CUSTOMERS_OF: Record<string, (data: Uint8Array) => string[]> = {
  [SUBJECTS.rating.usageRated]: (d) => fromBinary(rating.UsageRatedSchema, d).amounts.map((a) => a.customerId),
  [SUBJECTS.rating.tierCrossed]: (d) => [fromBinary(rating.TierCrossedSchema, d).customerId],
  [SUBJECTS.limits.alertTriggered]: (d) => [fromBinary(limits.AlertTriggeredSchema, d).alert?.customerId ?? ""],
  [SUBJECTS.limits.creditsGranted]: (d) => [fromBinary(limits.CreditsGrantedSchema, d).grant?.customerId ?? ""],
  [SUBJECTS.limits.creditsDepleted]: (d) => [fromBinary(limits.CreditsDepletedSchema, d).customerId],
};

export interface CustomerEvents {
  close(): Promise<void>;
}

/**
 * Listens to the services' domain events as a plain NATS subscriber: JetStream stores them, but
 * every publish also reaches core subscribers, so the console needs no durable consumer, acks
 * nothing and never holds the streams back. Missing an event while disconnected only delays a
 * page until the next one (or the browser's reload), which is why this is good enough here.
 */
export async function subscribeCustomerEvents(
  options: { url: string | string[]; prefix: string; log: Logger },
  onCustomer: (customerId: string) => void,
): Promise<CustomerEvents> {
  const bus = await EventBus.connect({ url: options.url, prefix: options.prefix, name: "tally-console" });
  for (const [name, customersOf] of Object.entries(CUSTOMERS_OF)) {
    bus.connection.subscribe(bus.subject(name), {
      callback: (err, msg) => {
        if (err) return options.log.warn("event subscription failed", { subject: name, err });
        try {
          for (const customerId of new Set(customersOf(msg.data))) if (customerId) onCustomer(customerId);
        } catch (decodeError) {
          options.log.warn("undecodable event", { subject: name, err: decodeError });
        }
      },
    });
  }
  return { close: () => bus.close() };
}
