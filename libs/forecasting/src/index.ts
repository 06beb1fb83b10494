/**
 * @tally/forecasting — end-of-period usage and amount ranges from a customer's daily history, and
 * calendar windows for revenue. Pure: no I/O, no clock (the elapsed point is an input).
 * See ../README.md for the method and its backtest.
 */
export { dayGrid, elapsedPoint, type ElapsedPoint, type PeriodDay } from "./day-grid";
export { ForecastInputError } from "./errors";
export { forecastUsage, CAP_MULTIPLE, MIN_HISTORY_DAYS } from "./project-usage";
export { seedFrom } from "./random";
export {
  billingsInWindow,
  calendarWindow,
  windowShare,
  type Billing,
  type CalendarWindowSpec,
  type TimeRange,
  type WindowShare,
} from "./calendar-window";
export type { AmountForecast, CohortPrior, DayProjection, ForecastBasis, PastPeriod, Quantiles, Quantity, UsageForecast, UsageForecastInput } from "./types";
