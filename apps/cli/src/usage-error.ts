/** A mistake on the command line or in a local file: reported as is, exit code USAGE. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
