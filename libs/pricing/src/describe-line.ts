import type { Decimal } from "./decimal";
import type { LineDraft } from "./model-pricer";
import type { PriceLine } from "./types";

/** Plain notation for descriptions; never throws (NaN/Infinity print as such). */
export function formatDecimal(d: Decimal): string {
  if (!d.isFinite()) return String(d);
  return d.isZero() ? "0" : d.toFixed();
}

/** "over 100 up to 1000", "up to 100", "over 1000": the tier's band in pricing-page words. */
export function describeBand(lower: Decimal | undefined, upper: Decimal | null | undefined): string {
  const from = lower === undefined || lower.isZero() ? "" : `over ${formatDecimal(lower)}`;
  const to = upper === null || upper === undefined ? "" : `up to ${formatDecimal(upper)}`;
  return [from, to].filter(Boolean).join(" ") || "all units";
}

/** `q × unit [+ flat] = subtotal`, the arithmetic an invoice reader can redo by hand. */
function arithmetic(line: LineDraft): string {
  const flat = line.flatAmount.isZero() ? "" : ` + ${formatDecimal(line.flatAmount)}`;
  return `${formatDecimal(line.quantity)} × ${formatDecimal(line.unitAmount)}${flat} = ${formatDecimal(line.subtotal)}`;
}

/**
 * Human wording of a line. Tiers are numbered from 1 here ("Tier 1" is tierIndex 0), like on a
 * pricing page; refs and indexes stay 0-based.
 */
export function describeLine(line: LineDraft): string {
  if (line.description !== undefined) return line.description;
  switch (line.kind) {
    case "included":
      return `Included units (${describeBand(line.lowerBound, line.upperBound)}): ${formatDecimal(line.quantity)} used, free`;
    case "graduated_tier":
      return `Tier ${(line.tierIndex ?? 0) + 1} (${describeBand(line.lowerBound, line.upperBound)}): ${arithmetic(line)}`;
    case "volume_tier":
      return `Tier ${(line.tierIndex ?? 0) + 1} (${describeBand(line.lowerBound, line.upperBound)}) applies to all units: ${arithmetic(line)}`;
    case "per_unit":
      return `Per unit: ${arithmetic(line)}`;
    case "package": {
      const units = line.units === undefined ? "" : `${formatDecimal(line.units)} units`;
      const size = line.packageSize === undefined ? "" : ` in packages of ${formatDecimal(line.packageSize)} (a started package counts in full)`;
      return `Package: ${units}${size}: ${arithmetic(line)}`;
    }
    case "flat_fee":
      return `Flat fee: ${arithmetic(line)}`;
    case "percentage":
      return `Percentage: ${formatDecimal(line.quantity)} × rate ${formatDecimal(line.unitAmount)} = ${formatDecimal(line.subtotal)}`;
    case "minimum":
      return `Minimum commitment: +${formatDecimal(line.subtotal)}`;
    case "maximum":
      return `Maximum (cap): ${formatDecimal(line.subtotal)}`;
    case "unpriced":
      return `Unpriced: ${formatDecimal(line.quantity)} not charged`;
  }
}

export function describeLines(lines: readonly LineDraft[]): PriceLine[] {
  return lines.map((line) => ({ ...line, description: describeLine(line) }));
}
