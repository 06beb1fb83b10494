/** A forecast input that cannot be projected; `field` names the offending input. */
export class ForecastInputError extends Error {
  override readonly name = "ForecastInputError";
  readonly code = "invalid_forecast_input";

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
