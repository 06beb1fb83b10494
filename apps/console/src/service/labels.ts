/** "Dec 1, 14:03 UTC": when something happened, to the minute. */
export function momentLabel(time: Date, timeZone = "UTC"): string {
  return new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone, timeZoneName: "short" }).format(time);
}

/** "42.5%" from a ratio. */
export function percentLabel(ratio: number): string {
  return new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}
