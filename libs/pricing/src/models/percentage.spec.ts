import { d, describePriceCases } from "../testing/price-cases";
import type { Price } from "../types";

// Resell model cost at +30 %: the quantity is the summed cost.
const resell: Price = { model: { kind: "percentage", rate: d("1.3") } };
// Take 2.5 % of transaction volume.
const take: Price = { model: { kind: "percentage", rate: d("0.025") } };

describePriceCases("percentage", [
  // 0 × 1.3 = 0
  { name: "zero cost", price: resell, quantity: "0", amount: "0" },
  // 12.345 × 1.3 = 16.0485 (unrounded: rounding happens at the invoice)
  { name: "resell cost × 1.3", price: resell, quantity: "12.345", amount: "16.0485", lines: [["percentage", "12.345", "16.0485"]] },
  // 1000 × 0.025 = 25
  { name: "2.5 % of volume", price: take, quantity: "1000", amount: "25" },
  // 0.000000001 × 1.3 = 0.0000000013
  { name: "tiny cost", price: resell, quantity: "0.000000001", amount: "0.0000000013" },
]);
