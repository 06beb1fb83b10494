import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** The counter type `ServiceMetrics.counter` returns, for services that take one as an option. */
export type { Counter as MetricCounter } from "prom-client";

/** Which surface answered a call: grpc-js on the gRPC port, or Connect/gRPC-Web on the HTTP port. */
export type RpcProtocol = "grpc" | "connect";

/** Buckets for rpc latency, in seconds: from a fast read (1 ms) to a slow batch (10 s). */
const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Everything one call records: bound once per method, so the hot path does no label lookups. */
export interface RpcRecorder {
  /** Records one finished call with its gRPC code name (e.g. `OK`, `INVALID_ARGUMENT`) and duration. */
  finished(code: string, seconds: number): void;
}

/**
 * One service's metrics: its own registry (tests run several services in one process, so the
 * global default registry would mix them), the rpc counters every service gets, and factories
 * for the business counters a service adds itself. Names get the `tally_` prefix; follow
 * Prometheus conventions (`_total` for counters, base units such as `_seconds`, `_bytes`).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"service" | "method" | "code" | "protocol">;
  private readonly durations: Histogram<"service" | "method" | "protocol">;

  constructor(service: string) {
    this.registry.setDefaultLabels({ tally_service: service });
    collectDefaultMetrics({ register: this.registry, prefix: "tally_" });
    this.requests = this.counter("rpc_requests_total", "Rpc calls finished, by method, gRPC status code and protocol.", ["service", "method", "code", "protocol"]);
    this.durations = this.histogram("rpc_duration_seconds", "Rpc latency from headers received to status sent.", ["service", "method", "protocol"], RPC_BUCKETS);
  }

  /** A counter named `tally_<name>` (end the name in `_total`). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name: `tally_${name}`, help, labelNames, registers: [this.registry] });
  }

  /** A gauge named `tally_<name>`; `collect` is called on each scrape to set its value. */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (gauge: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge({
      name: `tally_${name}`,
      help,
      labelNames,
      registers: [this.registry],
      ...(collect && {
        collect(this: Gauge<L>) {
          return collect(this);
        },
      }),
    });
  }

  /** A histogram named `tally_<name>` (base units: `_seconds`, `_bytes`). */
  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return new Histogram({ name: `tally_${name}`, help, labelNames, registers: [this.registry], ...(buckets && { buckets }) });
  }

  /** A recorder for one rpc, e.g. `rpc("tally.metering.v1.Meter", "Record", "grpc")`. */
  rpc(service: string, method: string, protocol: RpcProtocol): RpcRecorder {
    const duration = this.durations.labels({ service, method, protocol });
    const byCode = new Map<string, Counter.Internal>();
    return {
      finished: (code, seconds) => {
        let counter = byCode.get(code);
        if (!counter) byCode.set(code, (counter = this.requests.labels({ service, method, code, protocol })));
        counter.inc();
        duration.observe(seconds);
      },
    };
  }

  /** The exposition text for `GET /metrics`. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
