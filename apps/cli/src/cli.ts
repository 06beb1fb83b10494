import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import type { CliIo } from "./cli-io";
import { registerCreditNoteCommands } from "./commands/credit-notes";
import { registerCreditCommands } from "./commands/credits";
import { registerCustomerCommands } from "./commands/customers";
import { registerImportCommand } from "./commands/import";
import { registerInvoiceCommands } from "./commands/invoices";
import { registerLimitCommands } from "./commands/limits";
import { registerMeterCommands } from "./commands/meters";
import { registerPlanCommands } from "./commands/plans";
import { registerRatingCommands } from "./commands/rating-reads";
import { registerSubscriptionCommands } from "./commands/subscriptions";
import { registerUsageCommand } from "./commands/usage";
import { DEFAULT_API_KEY, SERVICES } from "./connection";
import { formatErrorReport, reportError } from "./error-report";
import { ExitCode } from "./exit-codes";
import { Session, type GlobalOptions } from "./session";

/** Runs one command line (without the node and script arguments) and returns its exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const session = new Session(io);
  const program = createProgram(session);
  try {
    await program.parseAsync(argv, { from: "user" });
    return session.exitCode;
  } catch (err) {
    // Commander has already printed its own message (usage errors, --help, --version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    const report = reportError(err);
    io.stderr.write(session.json ? JSON.stringify({ error: report }) + "\n" : formatErrorReport(report));
    return report.exitCode;
  } finally {
    session.close();
  }
}

function createProgram(session: Session): Command {
  const { io } = session;
  const program = new Command("tally")
    .description("Tally from the command line: meters, plans, subscriptions, usage, credits, limits, invoices, bulk import.")
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)")
    .option("--json", "print JSON (proto3 JSON mapping) for scripts instead of tables")
    .option("--key <api-key>", `API key (env TALLY_API_KEY, default the local dev key ${DEFAULT_API_KEY})`);
  for (const [name, service] of Object.entries(SERVICES)) {
    program.option(`--${name} <host:port>`, `${name} address (env ${service.env}, default ${service.address})`);
  }
  program.hook("preAction", (_, action) => session.configure(action.optsWithGlobals<GlobalOptions>()));

  registerMeterCommands(program, session);
  registerPlanCommands(program, session);
  registerCustomerCommands(program, session);
  registerSubscriptionCommands(program, session);
  registerUsageCommand(program, session);
  registerRatingCommands(program, session);
  registerCreditCommands(program, session);
  registerLimitCommands(program, session);
  registerInvoiceCommands(program, session);
  registerCreditNoteCommands(program, session);
  registerImportCommand(program, session);
  program.addHelpText(
    "after",
    "\nExit codes: 0 ok, 1 usage error, 2 invalid argument / failed precondition / already exists, 3 not found,\n" +
      "4 unavailable, unauthenticated or permission denied, 5 import finished with rejected lines, 6 server error,\n" +
      "130 import interrupted by Ctrl-C (checkpoint saved).\n",
  );
  return program;
}

/** This package's version; package.json sits one level up from both src/ and dist/. */
function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")) as { version: string }).version;
}
