import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { common } from "@tally/contracts";
import { Code, TallyError } from "../errors/errors";
import { DependencyUnavailableError, isDatabaseUnavailable } from "../errors/unavailable";
import type { Logger } from "../logging/logger";

/**
 * The one mapping of whatever an rpc threw to what its caller sees, for both surfaces (gRPC and
 * Connect). A lost or refused database connection is UNAVAILABLE (retry), not INTERNAL;
 * unexpected errors are logged and hidden behind a bare INTERNAL.
 */
export function normalizeRpcError(err: unknown, logger: Logger, method: string): TallyError | ConnectError {
  if (err instanceof TallyError || err instanceof ConnectError) return err;
  if (isDatabaseUnavailable(err)) {
    logger.warn("rpc failed: database unavailable", { method, err });
    return new DependencyUnavailableError(err);
  }
  logger.error("unhandled error in rpc", { method, err });
  return new ConnectError("internal error", Code.Internal);
}

/** The ErrorDetail a TallyError carries: stable code, one violation per field, metadata. */
export function errorDetailOf(error: TallyError): common.ErrorDetail {
  return create(common.ErrorDetailSchema, {
    code: error.reason,
    fieldViolations: error.violations.map((v) => ({ field: v.field, code: v.code ?? error.reason, description: v.message })),
    metadata: error.metadata,
  });
}

/** A normalized error as a ConnectError: the ErrorDetail in its details, the reason and field in headers (as on gRPC). */
export function toConnectError(error: TallyError | ConnectError): ConnectError {
  if (error instanceof ConnectError) return error;
  const headers = new Headers({ "tally-error-reason": error.reason });
  if (error.violations[0]) headers.set("tally-error-field", error.violations[0].field);
  return new ConnectError(error.message, error.code, headers, [{ desc: common.ErrorDetailSchema, value: errorDetailOf(error) }]);
}

const CODE_NAMES = new Map<number, string>(
  Object.entries(Code)
    .filter((entry): entry is [string, number] => typeof entry[1] === "number")
    .map(([name, code]) => [code, name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()]),
);

/** `INVALID_ARGUMENT` for 3, `OK` for 0: the names gRPC uses, for metric labels. */
export function grpcCodeName(code: number): string {
  return code === 0 ? "OK" : (CODE_NAMES.get(code) ?? String(code));
}
