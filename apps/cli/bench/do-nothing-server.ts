import * as grpc from "@grpc/grpc-js";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { metering } from "@tally/contracts";

/**
 * The baseline: a grpc-js server that answers RecordBatch with one ACCEPTED result per event
 * and does nothing else (it only counts the events in the request, and keeps one ready-made
 * response per batch size). Whatever rate `tally import` reaches against it is the most the
 * CLI itself can send on this machine.
 */
export async function startDoNothingServer(): Promise<{ address: string; stop(): Promise<void> }> {
  const responses = new Map<number, Buffer>();
  const answer = (count: number): Buffer => {
    let response = responses.get(count);
    if (!response) {
      const results = Array.from({ length: count }, () => ({ status: metering.EventStatus.ACCEPTED }));
      response = Buffer.from(toBinary(metering.RecordBatchResponseSchema, create(metering.RecordBatchResponseSchema, { results, acceptedCount: count })));
      responses.set(count, response);
    }
    return response;
  };
  const server = new grpc.Server({ "grpc.max_receive_message_length": 32 * 1024 * 1024 });
  server.addService(
    {
      recordBatch: {
        path: `/${metering.Meter.typeName}/RecordBatch`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      recordBatch: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, answer(countEvents(call.request))),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

/** Number of `events` (field 1) in a RecordBatchRequest, skipping over their bytes. */
function countEvents(request: Buffer): number {
  const reader = new BinaryReader(request);
  let count = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    reader.skip(wireType);
    if (field === 1) count++;
  }
  return count;
}
