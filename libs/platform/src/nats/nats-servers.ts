import type { Field } from "../config/env";

const PROTOCOLS = ["nats:", "tls:"];

/**
 * `nats://a:4222,nats://b:4222,…` → the list of servers, as the nats CLI and nats.js
 * clients take it: any one of them is enough to join the cluster (the client learns the
 * rest from the server), and the client fails over between them on its own.
 */
export function parseNatsServers(raw: string): string[] {
  const servers = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (servers.length === 0) throw new Error("lists no server");
  const problems: string[] = [];
  for (const server of servers) {
    try {
      const parsed = new URL(server);
      if (!PROTOCOLS.includes(parsed.protocol)) problems.push(`"${server}" must use nats or tls`);
      else if (!parsed.hostname) problems.push(`"${server}" has no host`);
    } catch {
      problems.push(`"${server}" is not a valid URL`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join("; "));
  if (new Set(servers).size !== servers.length) throw new Error("lists a server twice");
  return servers;
}

/** A comma-separated list of NATS servers in variable `name` (every entry checked). */
export function natsServersField(name: string, fallback: string): Field<string[]> {
  return (env, problems) => {
    const raw = env[name]?.trim() || fallback;
    try {
      return parseNatsServers(raw);
    } catch (err) {
      problems.push(`${name} ${err instanceof Error ? err.message : String(err)}, got "${raw}"`);
      return [];
    }
  };
}
