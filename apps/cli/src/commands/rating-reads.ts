import type { Command } from "commander";
import { rating } from "@tally/contracts";
import { bar } from "../format/bars";
import { displayDecimal } from "../format/decimal";
import { progressWithin, ratio } from "../format/ratio";
import { renderFields, renderTable } from "../format/table";
import { formatTime } from "../format/time";
import { enumName } from "../options";
import type { Session } from "../session";

/** What a customer owes so far: current tier, invoice preview, end-of-period forecast (rating). */
export function registerRatingCommands(program: Command, session: Session): void {
  program
    .command("tier <customer>")
    .description("current period usage per component with its tier and progress to the next threshold")
    .action(async (customerId: string) => {
      const response = await session.client("rating").getCurrentUsage({ customerId });
      session.out.message(rating.GetCurrentUsageResponseSchema, response, () => renderCurrentUsage(response));
    });

  program
    .command("preview <customer>")
    .description("the current period's invoice as if it ended now")
    .action(async (customerId: string) => {
      const response = await session.client("rating").previewInvoice({ customerId });
      session.out.message(rating.PreviewInvoiceResponseSchema, response, () => renderPreview(response.preview!));
    });

  program
    .command("forecast <customer>")
    .description("projected amount at the end of the current period")
    .action(async (customerId: string) => {
      const response = await session.client("rating").forecast({ customerId });
      session.out.message(rating.ForecastResponseSchema, response, () =>
        renderFields([
          ["subscription", response.subscriptionId],
          ["period", `${formatTime(response.period?.start)} → ${formatTime(response.period?.end)}`],
          ["elapsed", `${(ratio(response.elapsedFraction, "1") * 100).toFixed(1)}%`],
          ["to date", `${response.amountToDate} ${response.currency}`],
          ["projected", `${response.projectedTotal} ${response.currency} (precise ${response.projectedAmount})`],
        ]) +
          renderTable(
            ["component", "dimension", "quantity to date", "projected quantity", "amount to date", "projected amount"],
            response.components.map((c) => [c.componentKey, c.dimensionValue, c.quantityToDate, c.projectedQuantity, c.amountToDate, c.projectedAmount]),
          ),
      );
    });
}

function renderCurrentUsage(r: rating.GetCurrentUsageResponse): string {
  const head = renderFields([
    ["subscription", r.subscriptionId],
    ["period", `${formatTime(r.period?.start)} → ${formatTime(r.period?.end)}`],
    ["as of", formatTime(r.asOfTime)],
  ]);
  return (
    head +
    renderTable(
      ["component", "dimension", "quantity", "tier", "tier range", "to next tier", "", "amount"],
      r.components.map((c) => {
        // Tier fields count billable units (quantity less included units); untiered models leave them empty.
        const tiered = c.tierLowerBound !== "";
        const open = c.tierUpperBound === "";
        return [
          c.componentKey,
          c.dimensionValue,
          c.quantity,
          tiered ? c.tierIndex + 1 : "",
          tiered ? `${c.tierLowerBound} – ${open ? "∞" : c.tierUpperBound}` : "",
          !tiered ? "" : open ? "top tier" : c.unitsToNextTier,
          tiered && !open ? bar(progressWithin(c.billableQuantity, c.tierLowerBound, c.tierUpperBound), 12) : "",
          c.amount ? `${c.amount.amount} ${c.amount.currency}` : "",
        ];
      }),
    )
  );
}

function renderPreview(p: rating.InvoicePreview): string {
  return (
    renderFields([
      ["customer", p.customerId],
      ["subscription", p.subscriptionId],
      ["period", `${formatTime(p.period?.start)} → ${formatTime(p.period?.end)}`],
    ]) +
    renderTable(
      ["kind", "description", "dimension", "quantity", "amount"],
      p.lines.map((l) => [enumName(rating.LineKind, l.kind), l.description, l.dimensionValue, displayDecimal(l.quantity), l.amount]),
    ) +
    renderFields([
      ["subtotal", `${p.subtotal} ${p.currency}`],
      ["total", `${p.total} ${p.currency}`],
    ])
  );
}
