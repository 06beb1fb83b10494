/** Where the CLI reads its environment and writes its output: the process, or a test's buffers. */
export interface CliIo {
  env: Record<string, string | undefined>;
  /** Working directory relative paths (files to import, plan files) resolve against. */
  cwd: string;
  stdout: Writer;
  stderr: Writer & { isTTY?: boolean; columns?: number };
}

export interface Writer {
  write(text: string): unknown;
}

export function processIo(): CliIo {
  return { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };
}
