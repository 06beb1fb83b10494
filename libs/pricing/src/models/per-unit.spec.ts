import { d, describePriceCases } from "../testing/price-cases";
import type { Price } from "../types";

const perUnit: Price = { model: { kind: "per_unit", unitAmount: d("0.2") } };
const nano: Price = { model: { kind: "per_unit", unitAmount: d("0.000000001") } };

describePriceCases("per_unit", [
  // 0 × 0.2 = 0
  { name: "zero usage", price: perUnit, quantity: "0", amount: "0", lines: [["per_unit", "0", "0"]] },
  // 1.5 × 0.2 = 0.3
  { name: "fractional quantity", price: perUnit, quantity: "1.5", amount: "0.3", lines: [["per_unit", "1.5", "0.3"]] },
  // 1e12 × 0.2 = 200000000000
  { name: "huge quantity (1e12)", price: perUnit, quantity: "1000000000000", amount: "200000000000" },
  // 1e12 × 1e-9 = 1000
  { name: "tiny unit price (1e-9) at 1e12", price: nano, quantity: "1000000000000", amount: "1000" },
  // 0.000000000001 × 0.000000001 = 1e-21, exact
  { name: "tiny price × tiny quantity", price: nano, quantity: "0.000000000001", amount: "0.000000000000000000001" },
]);
