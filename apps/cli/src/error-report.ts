import { Code, ConnectError } from "@connectrpc/connect";
import { common } from "@tally/contracts";
import { ExitCode, exitCodeForStatus } from "./exit-codes";
import { UsageError } from "./usage-error";

/** What went wrong, in the shape printed for people and, with --json, for scripts. */
export interface ErrorReport {
  exitCode: ExitCode;
  /** gRPC status name (e.g. "INVALID_ARGUMENT"), or "USAGE" for a command-line mistake. */
  status: string;
  message: string;
  /** ErrorDetail.code from the server, when it sent one. */
  code?: string;
  fieldViolations: { field: string; code: string; description: string }[];
}

/** "InvalidArgument" → "INVALID_ARGUMENT": the name gRPC documentation and other clients use. */
export function statusName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

export function reportError(err: unknown): ErrorReport {
  if (err instanceof UsageError) return { exitCode: ExitCode.USAGE, status: "USAGE", message: err.message, fieldViolations: err.fieldViolations };
  if (isLocalFileError(err)) return { exitCode: ExitCode.USAGE, status: "USAGE", message: (err as Error).message, fieldViolations: [] };
  const connectError = ConnectError.from(err);
  const [detail] = connectError.findDetails(common.ErrorDetailSchema);
  return {
    exitCode: exitCodeForStatus(connectError.code),
    status: statusName(connectError.code),
    message: connectError.rawMessage,
    ...(detail?.code ? { code: detail.code } : {}),
    fieldViolations: (detail?.fieldViolations ?? []).map((v) => ({ field: v.field, code: v.code, description: v.description })),
  };
}

export function formatErrorReport(report: ErrorReport): string {
  const head = report.status === "USAGE" ? `error: ${report.message}` : `error: ${report.status}${report.code ? ` (${report.code})` : ""}: ${report.message}`;
  const lines = report.fieldViolations.map((v) => `  ${v.field}: ${v.description} [${v.code}]`);
  return [head, ...lines].join("\n") + "\n";
}

/** A failure of this machine's file system (EACCES, EISDIR, ENOSPC…): the user's to fix, not the server's. */
function isLocalFileError(err: unknown): boolean {
  return !(err instanceof ConnectError) && err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === "string" && /^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code));
}
