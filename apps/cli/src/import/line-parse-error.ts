/** A line of the import file that cannot become an event; it goes to the rejects file with this message. */
export class LineParseError extends Error {
  override readonly name = "LineParseError";

  constructor(
    message: string,
    /** Stable snake_case code, like the server's rejection codes. */
    readonly code: string,
  ) {
    super(message);
  }
}
