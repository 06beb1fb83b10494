import type { Decimal } from "@tally/pricing";
import type { PeriodDay } from "./day-grid";

/**
 * A day's usage. Exact (`Decimal`) where it adds up to the quantity to date; a plain number is
 * enough where it only feeds the estimation (which works in plain numbers anyway) and saves a
 * caller with thousands of customers a million decimal conversions.
 */
export type Quantity = Decimal | number;

/** A whole earlier period: its day grid and the usage of each day (same length). */
export interface PastPeriod {
  days: readonly PeriodDay[];
  usage: readonly Quantity[];
}

/**
 * What comparable customers (the plan's cohort) use: one average daily quantity per customer,
 * over its last whole period. The prior for a customer with too little history of its own.
 */
export interface CohortPrior {
  dailyRates: readonly Decimal[];
}

export interface UsageForecastInput {
  /** This period's day grid in the customer's time zone ({@link dayGrid}). */
  days: readonly PeriodDay[];
  /**
   * This period's usage per day so far, across every plan segment: one entry per day started
   * before `now` (the last one partial when `now` is inside a day). Plain numbers are accepted
   * when the exact `quantityToDate` is given.
   */
  usage: readonly Quantity[];
  /**
   * The exact quantity so far this period: the floor of every outcome. Defaults to the sum of
   * `usage`; a caller holding the exact figure elsewhere (rating's rated quantities) passes it.
   */
  quantityToDate?: Decimal;
  /** The elapsed point: when the forecast is made. */
  now: Date;
  /** Earlier periods, oldest first (most recent last). */
  history?: readonly PastPeriod[];
  /**
   * Instants the customer's usage level may have jumped: plan changes (this period's segment
   * starts after the first, and earlier ones). The level is re-learned from the days after.
   */
  levelShifts?: readonly Date[];
  cohort?: CohortPrior;
  /** Fixes the simulated paths: the same input and seed give the same forecast. */
  seed?: number;
  /** Simulated paths (default 1000). */
  samples?: number;
  /**
   * The component's price for the whole period's quantity: given, the forecast also has amount
   * ranges. A callback so this library knows nothing of plans (rating passes its pricer).
   */
  price?: (quantity: Decimal) => Decimal;
  /**
   * Set when `price` never decreases as quantity rises (every model but volume): the amount
   * quantiles are then the prices of the quantity quantiles, exactly, and only three prices are
   * computed instead of one per path.
   */
  priceNeverFalls?: boolean;
  /** `false` skips the day-by-day quantiles (`byDay` comes back empty): a caller summing thousands of period totals needs none. */
  byDay?: boolean;
}

/** Which evidence the projection rests on. */
export type ForecastBasis =
  /** Two weeks or more of daily history (this period and earlier ones): trend and weekday shape. */
  | "history"
  /** Less than two weeks of its own: this period's usage blended with the cohort's rates. */
  | "cohort"
  /** Less than two weeks and no cohort: this period's usage rate, never faster than per whole day. */
  | "observed";

export interface Quantiles {
  p10: Decimal;
  p50: Decimal;
  p90: Decimal;
}

/** Projected cumulative quantity by the end of one of the remaining days. */
export interface DayProjection extends Quantiles {
  end: Date;
}

export interface UsageForecast {
  quantityToDate: Decimal;
  /** End-of-period quantity: P50 is the point forecast; P10–P90 an 80 % range. */
  quantity: Quantiles;
  /** Cumulative quantity at the end of each day not yet over (the current one first); empty when the input says `byDay: false`. */
  byDay: DayProjection[];
  basis: ForecastBasis;
  /** No sampled outcome exceeds this (see the README: 10× the largest previous period, unless this period's own rate says more). */
  cap: Decimal;
  /** Present when the input has a `price`. */
  amount?: AmountForecast;
}

export interface AmountForecast extends Quantiles {
  amountToDate: Decimal;
}
