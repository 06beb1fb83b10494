import { startNatsCluster } from "./nats-cluster";

/**
 * `npm run nats-cluster [-- --size N]`: starts a cluster on loopback, prints the NATS_URL to give
 * the services (with NATS_STREAM_REPLICAS=3), and keeps it running until Ctrl-C, which stops the
 * nodes and removes their stores.
 */
async function main(): Promise<void> {
  const sizeFlag = process.argv.indexOf("--size");
  const size = sizeFlag > 0 ? Number(process.argv[sizeFlag + 1]) : 3;
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`--size must be 1..9, got ${process.argv[sizeFlag + 1]}`);
  const cluster = await startNatsCluster({ size });
  process.stdout.write(`NATS_URL=${cluster.servers.join(",")} NATS_STREAM_REPLICAS=${Math.min(size, 3)}\n`);
  process.stderr.write(`nats-cluster: ${size} nodes healthy; logs and stores in ${cluster.dir}; Ctrl-C stops them\n`);
  const stop = () => {
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`nats-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
