import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { CliIo } from "./cli-io";

/** Prints a result as JSON (proto3 JSON mapping, for scripts) or as text for people. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A response message: its proto3 JSON with --json, else what `render` draws. */
  message<S extends DescMessage>(schema: S, message: MessageShape<S>, render: () => string): void {
    if (this.json) this.writeJson(toJson(schema, message, { alwaysEmitImplicit: true }));
    else this.io.stdout.write(render());
  }

  /** A result the CLI assembled itself (e.g. an import summary). */
  value(value: unknown, render: () => string): void {
    if (this.json) this.writeJson(value);
    else this.io.stdout.write(render());
  }

  private writeJson(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + "\n");
  }
}
