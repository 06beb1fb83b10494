/** Where the CLI reads its environment and writes its output: the process, or a test's buffers. */
export interface CliIo {
  env: Record<string, string | undefined>;
  /** Working directory relative paths (files to import, plan files) resolve against. */
  cwd: string;
  stdout: Writer;
  stderr: Writer & { isTTY?: boolean; columns?: number };
  /**
   * Runs `handler` on the first Ctrl-C (a second one ends the process as usual); returns the
   * unsubscribe. Only commands that can stop cleanly (import) listen.
   */
  onInterrupt?(handler: () => void): () => void;
}

export interface Writer {
  write(text: string): unknown;
}

export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(handler) {
      process.once("SIGINT", handler);
      return () => process.off("SIGINT", handler);
    },
  };
}
