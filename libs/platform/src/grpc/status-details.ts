import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { common } from "@tally/contracts";
import type { TallyError } from "../errors/errors";
import { errorDetailOf } from "./rpc-errors";

/**
 * Encodes the `grpc-status-details-bin` trailer: a google.rpc.Status whose one
 * detail is our ErrorDetail (stable code + one violation per field). Clients
 * read it with connect-es `findDetails(err, ErrorDetailSchema)` or any gRPC
 * library's rich-error support. Status is written by hand: it is three fields,
 * and google/rpc protos are not among buf's built-in imports.
 */
export function encodeStatusDetails(code: number, error: TallyError): Buffer {
  const detail = errorDetailOf(error);
  const writer = new BinaryWriter();
  writer.tag(1, WireType.Varint).int32(code);
  writer.tag(2, WireType.LengthDelimited).string(error.message);
  writer.tag(3, WireType.LengthDelimited).fork();
  writer.tag(1, WireType.LengthDelimited).string(`type.googleapis.com/${common.ErrorDetailSchema.typeName}`);
  writer.tag(2, WireType.LengthDelimited).bytes(toBinary(common.ErrorDetailSchema, detail));
  writer.join();
  return Buffer.from(writer.finish());
}
