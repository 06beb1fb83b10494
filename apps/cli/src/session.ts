import type { CliIo } from "./cli-io";
import { Connections, resolveConnection, type ServiceKey } from "./connection";
import { ExitCode } from "./exit-codes";
import { Output } from "./output";

/** Global options, as commander parses them. */
export interface GlobalOptions extends Partial<Record<ServiceKey | "key", string>> {
  json?: boolean;
}

/** One run of the CLI: its io, the output mode and the connections opened by the command. */
export class Session {
  exitCode: ExitCode = ExitCode.OK;
  private configured?: { out: Output; connections: Connections };

  constructor(readonly io: CliIo) {}

  /** Called once the command line is parsed, before the command runs. */
  configure(options: GlobalOptions): void {
    this.configured = { out: new Output(this.io, options.json === true), connections: new Connections(resolveConnection(options, this.io.env)) };
  }

  get json(): boolean {
    return this.configured?.out.json ?? false;
  }

  get out(): Output {
    return this.parts.out;
  }

  get connections(): Connections {
    return this.parts.connections;
  }

  client<K extends ServiceKey>(key: K) {
    return this.parts.connections.client(key);
  }

  close(): void {
    this.configured?.connections.close();
  }

  private get parts() {
    if (!this.configured) throw new Error("session used before the command line was parsed");
    return this.configured;
  }
}
