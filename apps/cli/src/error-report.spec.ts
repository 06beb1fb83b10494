import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { common } from "@tally/contracts";
import { formatErrorReport, reportError, statusName } from "./error-report";
import { ExitCode, exitCodeForStatus } from "./exit-codes";
import { UsageError } from "./usage-error";

describe("error reports", () => {
  it("names statuses the way gRPC does", () => {
    expect(statusName(Code.InvalidArgument)).toBe("INVALID_ARGUMENT");
    expect(statusName(Code.DeadlineExceeded)).toBe("DEADLINE_EXCEEDED");
    expect(statusName(Code.NotFound)).toBe("NOT_FOUND");
  });

  it.each([
    [Code.InvalidArgument, ExitCode.INVALID],
    [Code.FailedPrecondition, ExitCode.INVALID],
    [Code.AlreadyExists, ExitCode.INVALID],
    [Code.Aborted, ExitCode.INVALID],
    [Code.OutOfRange, ExitCode.INVALID],
    [Code.NotFound, ExitCode.NOT_FOUND],
    [Code.Unavailable, ExitCode.UNAVAILABLE],
    [Code.DeadlineExceeded, ExitCode.UNAVAILABLE],
    [Code.ResourceExhausted, ExitCode.UNAVAILABLE],
    [Code.Unauthenticated, ExitCode.UNAVAILABLE],
    [Code.PermissionDenied, ExitCode.UNAVAILABLE],
    [Code.Canceled, ExitCode.UNAVAILABLE],
    [Code.Internal, ExitCode.SERVER_ERROR],
    [Code.Unknown, ExitCode.SERVER_ERROR],
    [Code.Unimplemented, ExitCode.SERVER_ERROR],
    [Code.DataLoss, ExitCode.SERVER_ERROR],
  ])("status %s exits %s", (code, exit) => {
    expect(exitCodeForStatus(code)).toBe(exit);
  });

  it("prints the status, the ErrorDetail code and one line per field violation", () => {
    const detail = create(common.ErrorDetailSchema, {
      code: "invalid_argument",
      fieldViolations: [
        { field: "meter.key", code: "invalid_pattern", description: 'key "Bad" must match [a-z][a-z0-9_]{0,62}' },
        { field: "meter.aggregation", code: "required", description: "aggregation is required" },
      ],
    });
    const report = reportError(new ConnectError("meter.key: bad", Code.InvalidArgument, undefined, [{ desc: common.ErrorDetailSchema, value: detail }]));
    expect(report).toMatchObject({ exitCode: ExitCode.INVALID, status: "INVALID_ARGUMENT", code: "invalid_argument", message: "meter.key: bad" });
    expect(formatErrorReport(report)).toBe(
      [
        "error: INVALID_ARGUMENT (invalid_argument): meter.key: bad",
        '  meter.key: key "Bad" must match [a-z][a-z0-9_]{0,62} [invalid_pattern]',
        "  meter.aggregation: aggregation is required [required]",
        "",
      ].join("\n"),
    );
  });

  it("reports a usage error as such, and anything else as a server-side failure", () => {
    expect(formatErrorReport(reportError(new UsageError("--from: bad")))).toBe("error: --from: bad\n");
    expect(reportError(new Error("socket hang up"))).toMatchObject({ status: "UNKNOWN", exitCode: ExitCode.SERVER_ERROR });
    const denied = Object.assign(new Error("EACCES: permission denied, open '/x.rejects.ndjson'"), { code: "EACCES", syscall: "open" });
    expect(reportError(denied)).toMatchObject({ status: "USAGE", exitCode: ExitCode.USAGE });
  });
});
