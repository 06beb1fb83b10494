import type { EventBus } from "../nats/event-bus";
import type { ServiceMetrics } from "./service-metrics";

/**
 * JetStream consumer lag, read from the server at scrape time for every durable this process
 * consumes: messages not yet delivered (num_pending — growing means the service falls behind)
 * and delivered but not yet acked (num_ack_pending — work in flight). A consumer whose info
 * NATS does not answer is left out of the scrape rather than failing it.
 */
export function registerConsumerLagGauges(metrics: ServiceMetrics, bus: EventBus): void {
  let reading: Promise<ConsumerLag[]> | undefined;
  // Both gauges are collected on the same scrape: one round of consumer info serves them.
  const readLag = () =>
    (reading ??= Promise.all(
      [...bus.durables.values()].map(({ owner, durable }) =>
        bus.manager.consumers
          .info(bus.streamName(owner), durable)
          .then((info): ConsumerLag => ({ labels: { stream: owner, durable }, pending: info.num_pending, ackPending: info.num_ack_pending }))
          .catch(() => undefined),
      ),
    )
      .then((all) => all.filter((lag): lag is ConsumerLag => lag !== undefined))
      .finally(() => setImmediate(() => (reading = undefined))));
  metrics.gauge("jetstream_consumer_pending_messages", "Messages of the consumer's filter not yet delivered (num_pending).", ["stream", "durable"], async (gauge) => {
    const lags = await readLag();
    gauge.reset();
    for (const lag of lags) gauge.set(lag.labels, lag.pending);
  });
  metrics.gauge("jetstream_consumer_ack_pending_messages", "Messages delivered and not yet acked (num_ack_pending).", ["stream", "durable"], async (gauge) => {
    const lags = await readLag();
    gauge.reset();
    for (const lag of lags) gauge.set(lag.labels, lag.ackPending);
  });
}

interface ConsumerLag {
  labels: { stream: string; durable: string };
  pending: number;
  ackPending: number;
}
