import { Code } from "@connectrpc/connect";

/**
 * Exit codes scripts can rely on (also listed in the README). They group gRPC status codes by
 * what a script does next: fix its input (2), check the id (3), retry later or fix credentials
 * (4), inspect the rejects file (5).
 */
export const ExitCode = {
  OK: 0,
  /** Bad command line: unknown command or option, missing argument, unreadable or malformed file. */
  USAGE: 1,
  /** The server refused the request as it stands: INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED, OUT_OF_RANGE. */
  INVALID: 2,
  /** NOT_FOUND. */
  NOT_FOUND: 3,
  /** Could not be served: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAUTHENTICATED, PERMISSION_DENIED, CANCELED. */
  UNAVAILABLE: 4,
  /** `tally import` finished but some lines were rejected (see the rejects file). */
  PARTIAL_IMPORT: 5,
  /** The server failed: INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS. */
  SERVER_ERROR: 6,
  /** Stopped by Ctrl-C (128 + SIGINT, as shells report it); `tally import` saved its checkpoint first. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeForStatus(code: Code): ExitCode {
  switch (code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
    case Code.Aborted:
    case Code.OutOfRange:
      return ExitCode.INVALID;
    case Code.NotFound:
      return ExitCode.NOT_FOUND;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
    case Code.Unauthenticated:
    case Code.PermissionDenied:
    case Code.Canceled:
      return ExitCode.UNAVAILABLE;
    case Code.Internal:
    case Code.Unknown:
    case Code.Unimplemented:
    case Code.DataLoss:
      return ExitCode.SERVER_ERROR;
  }
}
