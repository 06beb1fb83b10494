import { loadConfig, type Field } from "@tally/platform";

/**
 * Which of metering's usage an instance rates. Either every instance shares the one durable
 * consumer `rating` (JetStream hands each message to one of them), or — when the NATS server
 * maps usage subjects into partitions by customer (`partition(n, …)` in its `mappings`, see
 * docs/scaling.md) — each partition has its own durable `rating-p<k>` and an instance takes some
 * of them, so no two instances ever rate the same customer and never wait on each other's rows.
 */
export interface UsagePartitions {
  /** 0: the shared consumer. n: the server maps usage into partitions 0..n-1. */
  count: number;
  /** The partitions this instance takes (all of them when unset). */
  taken: number[];
}

export interface UsageConsumer {
  durable: string;
  /** Logical subject filter. */
  subject: string;
}

/** The consumers an instance runs on metering's usage subject (`usageSubject`, logical). */
export function usageConsumers(usageSubject: string, partitions: UsagePartitions): UsageConsumer[] {
  if (partitions.count === 0) return [{ durable: "rating", subject: usageSubject }];
  // The mapping's destination: <usage subject>.<partition>.<customer>.
  return partitions.taken.map((k) => ({ durable: `rating-p${k}`, subject: `${usageSubject}.${k}.*` }));
}

/** RATING_PARTITIONS (0: the shared consumer) and RATING_PARTITIONS_TAKEN (comma-separated; default all). */
export function loadUsagePartitions(env: Record<string, string | undefined> = process.env): UsagePartitions {
  const field: Field<UsagePartitions> = (e, problems) => {
    const countRaw = e.RATING_PARTITIONS?.trim() || "0";
    const count = Number(countRaw);
    if (!/^\d+$/.test(countRaw) || count > 1024) {
      problems.push(`RATING_PARTITIONS must be an integer between 0 and 1024, got "${countRaw}"`);
      return { count: 0, taken: [] };
    }
    const takenRaw = e.RATING_PARTITIONS_TAKEN?.trim() ?? "";
    if (takenRaw === "") return { count, taken: Array.from({ length: count }, (_, k) => k) };
    if (count === 0) {
      problems.push("RATING_PARTITIONS_TAKEN needs RATING_PARTITIONS");
      return { count, taken: [] };
    }
    const taken = takenRaw.split(",").map((s) => s.trim());
    const bad = taken.filter((s) => !/^\d+$/.test(s) || Number(s) >= count);
    if (bad.length > 0 || new Set(taken).size !== taken.length) {
      problems.push(`RATING_PARTITIONS_TAKEN must list distinct partitions 0..${count - 1}, got "${takenRaw}"`);
      return { count, taken: [] };
    }
    return { count, taken: taken.map(Number) };
  };
  return loadConfig({ partitions: field }, env).partitions;
}
