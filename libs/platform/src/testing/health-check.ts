import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

interface HealthClient extends grpc.Client {
  Check(request: { service: string }, callback: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
}

/** Asks a server's grpc.health.v1 for one service's status ("" = the whole server). */
export async function checkHealth(address: string, service = ""): Promise<string> {
  const protoPath = path.join(path.dirname(require.resolve("grpc-health-check/package.json")), "proto/health/v1/health.proto");
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
  try {
    return await new Promise((resolve, reject) =>
      client.Check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status ?? "UNKNOWN"))),
    );
  } finally {
    client.close();
  }
}
