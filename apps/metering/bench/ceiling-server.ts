import * as grpc from "@grpc/grpc-js";
import { loadMeterService } from "./grpc-proto";

interface BatchRequest {
  events: { id: string }[];
}

/**
 * The ceiling: a grpc-js server for the same proto whose handlers answer at once, with a
 * response of the same shape as metering's (one ACCEPTED result per event). Whatever rate the
 * benchmark client reaches against it is the most any service could reach on this machine.
 */
export async function startCeilingServer(): Promise<{ address: string; stop(): Promise<void> }> {
  const Meter = loadMeterService();
  const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024 });
  const accepted = (id: string) => ({ eventId: id, status: "EVENT_STATUS_ACCEPTED" });
  server.addService(Meter.service, {
    record: (call: grpc.ServerUnaryCall<{ event?: { id: string } }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { result: accepted(call.request.event?.id ?? "") }),
    recordBatch: (call: grpc.ServerUnaryCall<BatchRequest, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { results: call.request.events.map((e) => accepted(e.id)), acceptedCount: call.request.events.length }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
