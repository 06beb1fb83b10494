import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { common } from "@tally/contracts";

export interface RawCallResult {
  code: grpc.status;
  details: string;
  /** The ErrorDetail from `grpc-status-details-bin`, when the server sent one. */
  detail?: common.ErrorDetail;
}

/**
 * Sends arbitrary bytes as the request of a unary rpc (`/tally.metering.v1.Meter/Record`),
 * as a broken or hostile client would: for tests of what the server does with bodies no
 * generated client can produce. Reuse one `grpc.Client` for many calls; close it after.
 */
export function rawCall(client: grpc.Client, path: string, body: Uint8Array, apiKey?: string, deadlineMs = 10_000): Promise<RawCallResult> {
  const metadata = new grpc.Metadata();
  if (apiKey) metadata.set("authorization", `Bearer ${apiKey}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest<Uint8Array, Buffer>(
      path,
      (bytes) => Buffer.from(bytes),
      (bytes) => bytes,
      body,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err) => {
        if (!err) return resolve({ code: grpc.status.OK, details: "" });
        const trailer = err.metadata?.get("grpc-status-details-bin")[0];
        resolve({ code: err.code, details: err.details, detail: Buffer.isBuffer(trailer) ? errorDetailOf(trailer) : undefined });
      },
    );
  });
}

/** A client for {@link rawCall}. */
export function rawClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
}

/** The ErrorDetail inside a google.rpc.Status (field 3: Any, whose field 2 is the value). */
function errorDetailOf(status: Uint8Array): common.ErrorDetail | undefined {
  const reader = new BinaryReader(status);
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo !== 3 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType);
      continue;
    }
    const any = new BinaryReader(reader.bytes());
    while (any.pos < any.len) {
      const [anyField, anyWire] = any.tag();
      if (anyField === 2) return fromBinary(common.ErrorDetailSchema, any.bytes());
      any.skip(anyWire);
    }
  }
  return undefined;
}
