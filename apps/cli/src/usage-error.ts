/** A mistake on the command line or in a local file: reported as is, exit code USAGE. */
export class UsageError extends Error {
  override readonly name = "UsageError";

  /** `fieldViolations`: each mistake in a local file, named by its field path as the services name theirs. */
  constructor(
    message: string,
    readonly fieldViolations: { field: string; code: string; description: string }[] = [],
  ) {
    super(message);
  }
}
