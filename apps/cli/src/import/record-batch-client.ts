import * as grpc from "@grpc/grpc-js";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { common, metering } from "@tally/contracts";
import { readBatchOutcome, type BatchOutcome } from "./batch-outcome";

const METHOD = `/${metering.Meter.typeName}/${metering.Meter.method.recordBatch.name}`;

/**
 * `Meter.RecordBatch` over grpc-js with a request already encoded (batch-encoder.ts): the
 * Connect client would re-encode it through protobuf-es reflection, the import's bottleneck.
 * The response is read by readBatchOutcome; failures become a ConnectError carrying
 * the server's ErrorDetail, like every other command's.
 */
export class RecordBatchClient {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();

  constructor(address: string, apiKey: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_send_message_length": 32 * 1024 * 1024,
      "grpc.max_receive_message_length": 32 * 1024 * 1024,
    });
    this.metadata.set("authorization", `Bearer ${apiKey}`);
  }

  send(request: Buffer, timeoutMs: number): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        METHOD,
        (body: Buffer) => body,
        readBatchOutcome,
        request,
        this.metadata,
        { deadline: Date.now() + timeoutMs },
        (err, response) => (err ? reject(toConnectError(err)) : resolve(response!)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** grpc-js error → ConnectError with the `grpc-status-details-bin` ErrorDetail (google.rpc.Status). */
export function toConnectError(err: grpc.ServiceError): ConnectError {
  const details: { desc: typeof common.ErrorDetailSchema; value: common.ErrorDetail }[] = [];
  const [bin] = err.metadata?.get("grpc-status-details-bin") ?? [];
  if (bin instanceof Buffer) {
    for (const any of statusDetails(bin)) {
      if (any.typeUrl.endsWith(`/${common.ErrorDetailSchema.typeName}`)) details.push({ desc: common.ErrorDetailSchema, value: fromBinary(common.ErrorDetailSchema, any.value) });
    }
  }
  const code = err.code in Code ? (err.code as number as Code) : Code.Unknown;
  return new ConnectError(err.details || err.message, code, undefined, details);
}

/** The `details` (field 3, repeated google.protobuf.Any) of a google.rpc.Status. */
function statusDetails(bytes: Uint8Array): { typeUrl: string; value: Uint8Array }[] {
  const out: { typeUrl: string; value: Uint8Array }[] = [];
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const any = new BinaryReader(reader.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [f, w] = any.tag();
      if (f === 1) typeUrl = any.string();
      else if (f === 2) value = any.bytes();
      else any.skip(w);
    }
    out.push({ typeUrl, value });
  }
  return out;
}
