import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";

/**
 * A NATS cluster on loopback: `size` nats-server processes (Debian's, on PATH) with JetStream,
 * each with its own store directory and its own client, route and monitoring ports, routed to
 * one another. Streams created on it with `num_replicas: 3` keep a copy on every node, so one
 * node can be killed and restarted under load.
 */
export interface NatsCluster {
  /** Each node's client URL, in node order: what NATS_URL takes, comma-separated. */
  readonly servers: string[];
  /** The nodes' log and store directories live under this one (removed by `stop()`). */
  readonly dir: string;
  /** kill -9 of node `i` (its store stays). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on the same ports and store; resolves once it reports healthy (JetStream current). */
  restart(i: number): Promise<void>;
  /** Resolves once every running node reports healthy: JetStream meta leader elected and every stream and consumer current. */
  untilHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Nodes (default 3). */
  size?: number;
  /** Binary (default `nats-server` on PATH; Debian installs it as /usr/sbin/nats-server). */
  binary?: string;
  /** How long start and restart may take (default 30 s). */
  timeoutMs?: number;
  /**
   * Subject mappings of the (default) account, as in the server configuration's `mappings`
   * block, e.g. partitions: `{ "usage.*": "usage.{{partition(4,1)}}.{{wildcard(1)}}" }`.
   */
  mappings?: Record<string, string>;
}

interface Node {
  name: string;
  client: number;
  route: number;
  monitor: number;
  dir: string;
  child?: ChildProcess;
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const { size = 3, binary = "nats-server", timeoutMs = 30_000, mappings = {} } = options;
  const dir = mkdtempSync(path.join(tmpdir(), "tally-nats-cluster-"));
  // Flags carry everything else; only the mappings need a configuration file.
  const config = path.join(dir, "mappings.conf");
  writeFileSync(config, `mappings = ${JSON.stringify(mappings, null, 2)}\n`);
  const nodes: Node[] = [];
  for (let i = 0; i < size; i++) {
    const nodeDir = path.join(dir, `n${i + 1}`);
    mkdirSync(nodeDir);
    nodes.push({ name: `n${i + 1}`, client: await freePort(), route: await freePort(), monitor: await freePort(), dir: nodeDir });
  }
  const routes = nodes.map((n) => `nats://127.0.0.1:${n.route}`).join(",");
  const launch = (node: Node) => {
    const args = [
      ...["-a", "127.0.0.1", "-p", String(node.client), "-m", String(node.monitor), "--server_name", node.name],
      ...["-c", config, "-js", "-sd", path.join(node.dir, "store"), "-l", path.join(node.dir, "server.log")],
      // A single node runs JetStream unclustered.
      ...(size > 1 ? ["--cluster_name", "tally", "--cluster", `nats://127.0.0.1:${node.route}`, "--routes", routes] : []),
    ];
    node.child = spawn(binary, args, { stdio: "ignore" });
    node.child.on("error", () => undefined); // a missing binary shows as a node that never gets healthy
  };
  const nodeAt = (i: number): Node => {
    const node = nodes[i];
    if (!node) throw new RangeError(`no node ${i}: the cluster has nodes 0..${nodes.length - 1}`);
    return node;
  };
  const running = () => nodes.filter((n) => n.child && n.child.exitCode === null && n.child.signalCode === null);
  const kill = async (node: Node) => {
    const child = node.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  const cluster: NatsCluster = {
    servers: nodes.map((n) => `nats://127.0.0.1:${n.client}`),
    dir,
    kill: (i) => kill(nodeAt(i)),
    async restart(i) {
      const node = nodeAt(i);
      await kill(node);
      launch(node);
      await waitFor(() => healthy(node.monitor), timeoutMs, `${node.name} healthy after restart (log: ${node.dir}/server.log)`);
    },
    async untilHealthy(wait = timeoutMs) {
      await waitFor(async () => (await Promise.all(running().map((n) => healthy(n.monitor)))).every(Boolean), wait, "every node healthy");
    },
    async stop() {
      await Promise.all(nodes.map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    nodes.forEach(launch);
    await cluster.untilHealthy();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * The node's own verdict (`/healthz`): ok once it has joined the cluster, a JetStream meta leader
 * exists and every stream and consumer replica it holds has caught up.
 */
function healthy(monitorPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port: monitorPort, path: "/healthz", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
