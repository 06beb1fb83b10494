/**
 * A service the console depends on does not answer a question: it does not serve the rpc yet
 * (UNIMPLEMENTED, e.g. invoicing before it ships), is unreachable, or has nothing for this
 * customer. Pages show the section as unavailable with this reason instead of failing whole.
 */
export class SectionUnavailableError extends Error {
  override readonly name = "SectionUnavailableError";
  constructor(
    readonly reason: "not_available" | "unreachable" | "not_found" | "failed",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
