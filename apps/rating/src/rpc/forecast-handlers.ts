import { calendarWindow, ForecastInputError, type CalendarWindowSpec, type TimeRange } from "@tally/forecasting";
import { rating } from "@tally/contracts";
import { Violations, type ServiceHandlers } from "@tally/platform";
import { Decimal, toMaxScale } from "@tally/pricing";
import { range, roundedWire, ts, wire } from "../adapter/proto-mapping";
import type { ComponentBasis, Range } from "../domain/forecast";
import type { Forecaster } from "../service/forecaster";

type ForecastHandlers = Pick<ServiceHandlers<typeof rating.Rating>, "forecast" | "forecastRevenue">;

/** Forecast and ForecastRevenue: proto in, domain in between, proto out. */
export function forecastHandlers(forecaster: Forecaster): ForecastHandlers {
  return {
    forecast: async (req) => {
      const { sub, period, currency, now, forecast } = await forecaster.forecast(req.customerId);
      return {
        subscriptionId: sub.id,
        period: range(period),
        currency,
        amountToDate: wire(forecast.amountToDate),
        projectedAmount: wire(forecast.amount.p50),
        projectedTotal: roundedWire(forecast.amount.p50, currency),
        amount: rangeProto(forecast.amount),
        elapsedFraction: wire(exactFraction(forecast.elapsedMillis, forecast.periodMillis)),
        elapsedMillis: BigInt(forecast.elapsedMillis),
        periodMillis: BigInt(forecast.periodMillis),
        components: forecast.components.map((c) => ({
          componentKey: c.componentKey,
          dimensionValue: c.dimensionValue,
          quantityToDate: wire(c.quantityToDate),
          projectedQuantity: wire(c.quantity.p50),
          amountToDate: wire(c.amountToDate),
          projectedAmount: wire(c.amount.p50),
          quantity: rangeProto(c.quantity),
          amount: rangeProto(c.amount),
          basis: BASIS[c.basis],
        })),
        asOfTime: ts(now),
      };
    },
    forecastRevenue: async (req) => {
      const window = req.window ? windowOf(req.window) : undefined;
      const f = await forecaster.revenue(req.currency, window);
      return {
        currency: req.currency,
        amountToDate: wire(f.amountToDate),
        projectedAmount: wire(f.amount.p50),
        projectedTotal: roundedWire(f.amount.p50, req.currency),
        amount: rangeProto(f.amount),
        bookedAmount: wire(f.booked),
        projectedUnbookedAmount: wire(f.amount.p50.minus(f.booked)),
        subscriptionCount: f.subscriptions,
        billingCount: f.billings,
        window: f.window && range(f.window),
        asOfTime: ts(f.now),
        projectionsAsOf: f.projectionsAsOf && ts(f.projectionsAsOf),
        billingsDated: f.billingsDated,
        billingsNotProjected: f.billingsNotProjected,
      };
    },
  };
}

const BASIS: Record<ComponentBasis, rating.ForecastBasis> = {
  history: rating.ForecastBasis.HISTORY,
  cohort: rating.ForecastBasis.COHORT,
  observed: rating.ForecastBasis.OBSERVED,
  not_extrapolated: rating.ForecastBasis.NOT_EXTRAPOLATED,
};

function rangeProto(x: Range) {
  return { p10: wire(x.p10), p50: wire(x.p50), p90: wire(x.p90) };
}

/** The elapsed fraction to 12 places (the storage scale); elapsed_millis ÷ period_millis is the exact value. */
function exactFraction(elapsed: number, total: number): Decimal {
  return total > 0 ? toMaxScale(new Decimal(elapsed).div(total)) : new Decimal(1);
}

/** CalendarWindow → the window's instants, every bad field named. */
function windowOf(w: rating.CalendarWindow): TimeRange {
  const v = new Violations();
  const at = (f: string) => `window.${f}`;
  if (w.kind !== rating.CalendarWindowKind.MONTH && w.kind !== rating.CalendarWindowKind.QUARTER) v.add(at("kind"), `must be MONTH or QUARTER, got ${w.kind}`, "required");
  if (w.year < 2000 || w.year > 2099) v.add(at("year"), `must be 2000–2099, got ${w.year}`, "out_of_range");
  if (w.kind === rating.CalendarWindowKind.MONTH && (w.month < 1 || w.month > 12)) v.add(at("month"), `must be 1–12, got ${w.month}`, "out_of_range");
  if (w.kind === rating.CalendarWindowKind.MONTH && w.quarter !== 0) v.add(at("quarter"), "must be empty for a MONTH window", "not_allowed");
  if (w.kind === rating.CalendarWindowKind.QUARTER && (w.quarter < 1 || w.quarter > 4)) v.add(at("quarter"), `must be 1–4, got ${w.quarter}`, "out_of_range");
  if (w.kind === rating.CalendarWindowKind.QUARTER && w.month !== 0) v.add(at("month"), "must be empty for a QUARTER window", "not_allowed");
  if (!w.timeZone) v.add(at("time_zone"), "is required", "required");
  v.throwIfAny();
  const spec: CalendarWindowSpec =
    w.kind === rating.CalendarWindowKind.MONTH
      ? { kind: "month", year: w.year, month: w.month, timeZone: w.timeZone }
      : { kind: "quarter", year: w.year, quarter: w.quarter, timeZone: w.timeZone };
  try {
    return calendarWindow(spec);
  } catch (err) {
    if (!(err instanceof ForecastInputError)) throw err;
    v.add(at(err.field), err.message, "invalid_value");
    v.throwIfAny();
    throw err;
  }
}
