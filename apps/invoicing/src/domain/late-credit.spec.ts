import { Decimal } from "@tally/pricing";
import { isLateCredit, lateCredit, type LateAdjustment } from "./late-usage";
import type { Invoice } from "./types";

const period = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };
const issued = { id: "inv_1", subscriptionId: "sub_1", customerId: "cus_1", currency: "USD", period, creditsBurned: new Decimal("1.004") } as Invoice;
const at = new Date("2026-12-03T00:00:00Z");
let n = 0;
const id = () => `adj_${++n}`;
const credit = (amount: string): LateAdjustment => ({ ...lateCredit(issued, new Decimal(amount).plus("1.004"), [], at, id)[0]!, amount: new Decimal(amount) });

describe("lateCredit: ledger burn − what the invoice took − earlier late credits", () => {
  it.each([
    // 1.104 − 1.004 = 0.1
    ["1.104", [], "0.1"],
    // 1.104 − 1.004 − 0.1 = 0: already recorded, nothing again
    ["1.104", [credit("0.1")], undefined],
    // 1.204 − 1.004 − 0.1 = 0.1 more
    ["1.204", [credit("0.1")], "0.1"],
    // 0.904 − 1.004 = −0.1: limits gave credit back (usage corrected down)
    ["0.904", [], "-0.1"],
    // 1.004: nothing burned since
    ["1.004", [], undefined],
  ] as [string, LateAdjustment[], string | undefined][])("case %#: ledger %s → late credit as computed", (ledger, earlier, expected) => {
    const out = lateCredit(issued, new Decimal(ledger), earlier, at, id);
    expect(out[0]?.amount.toFixed()).toBe(expected);
    if (out[0]) expect([isLateCredit(out[0]), out[0].sourceInvoiceId, out[0].quantity.toFixed(), out[0].invoiceId]).toEqual([true, "inv_1", "0", ""]);
  });

  it("ignores usage adjustments of the same invoice", () => {
    const usage = { ...credit("5"), kind: "usage" as const };
    expect(lateCredit(issued, new Decimal("1.104"), [usage], at, id)[0]?.amount.toFixed()).toBe("0.1");
  });
});
