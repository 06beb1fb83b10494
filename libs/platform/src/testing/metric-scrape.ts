import type { RunningService } from "../runtime/service-host";

/**
 * The value of one sample on a running service's `/metrics`: `name` exactly, and every
 * `label="value"` pair of `labels` present. 0 when no such sample exists yet (a labelled
 * counter appears on its first increment), so "moved by exactly N" is `after - before === N`.
 */
export async function scrapeMetric(service: RunningService, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://${service.http.address}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split("\n")
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((pair) => l.includes(pair)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}
