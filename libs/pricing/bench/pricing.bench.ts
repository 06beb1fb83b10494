/**
 * Pricing benchmark — prints evaluations per second; not a test (numbers depend on the machine).
 *   npm run bench -w @tally/pricing
 * The hot path is `increment`: rating calls it on every usage event (period total so far → plus
 * this event). Target: ≥ 100,000 increments per second on one core.
 */
import { createPricer, Decimal, parseDecimal, type Price, type Tier } from "../src/index";

const TARGET_PER_SECOND = 100_000;
const d = (value: string) => new Decimal(value);
const tier = (upTo: string | null, unit: string, flat = "0"): Tier => ({
  upTo: upTo === null ? null : d(upTo),
  unitAmount: d(unit),
  flatAmount: d(flat),
});

// 5 tiers, tokens-in-thousands with nano-dollar-ish prices and a flat step.
const fiveTiers: Tier[] = [
  tier("1000", "0.002"),
  tier("10000", "0.0018"),
  tier("100000", "0.0015", "5"),
  tier("1000000", "0.0012"),
  tier(null, "0.001"),
];
const prices: Array<[string, Price]> = [
  ["graduated (5 tiers)", { model: { kind: "graduated", tiers: fiveTiers } }],
  ["volume (5 tiers)", { model: { kind: "volume", tiers: fiveTiers } }],
  ["graduated + included + min/max", { model: { kind: "graduated", tiers: fiveTiers }, includedUnits: d("500"), minimum: d("10"), maximum: d("5000") }],
  ["package (per 1000)", { model: { kind: "package", packageSize: d("1000"), packageAmount: d("1.5") } }],
  ["per unit", { model: { kind: "per_unit", unitAmount: d("0.000000002") } }],
];

// Deterministic pseudo-random event sizes: fractional, 0.001 … ~50 units.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const deltas = Array.from({ length: 4096 }, () => d((random() * 50).toFixed(3)));
// Period totals spread over all five tiers, for total()/amount().
const quantities = Array.from({ length: 4096 }, () => d((10 ** (random() * 7)).toFixed(3)));

function measure(label: string, iterations: number, run: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) run(i); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = iterations / seconds;
  console.log(`${label.padEnd(58)} ${Math.round(perSecond).toLocaleString("en-US").padStart(12)} /s`);
  return perSecond;
}

console.log(`@tally/pricing bench — node ${process.version}, one core\n`);
const [, gradPrice] = prices[0]!;
const graduated = createPricer(gradPrice);
measure("graduated 5 tiers: amount(q)", 300_000, (i) => graduated.amount(quantities[i & 4095]!));
measure("graduated 5 tiers: total(q) with lines", 50_000, (i) => graduated.total(quantities[i & 4095]!));
measure("graduated 5 tiers: position(q)", 300_000, (i) => graduated.position(quantities[i & 4095]!));

console.log("");
let hotPath = Infinity;
for (const [label, price] of prices) {
  const pricer = createPricer(price);
  let q = new Decimal(0);
  // One event: the new period total, then the amount it adds. Restart the period now and then so
  // every tier is visited, and the volume tier drops appear.
  const perSecond = measure(`${label}: increment per event`, 300_000, (i) => {
    const next = (i & 65535) === 0 ? deltas[i & 4095]! : q.plus(deltas[i & 4095]!);
    const amount = pricer.increment(q, next);
    q = next;
    return amount;
  });
  if (label.startsWith("graduated")) hotPath = Math.min(hotPath, perSecond);
}

console.log("");
let q = new Decimal(0);
measure("graduated: parse event quantity + increment + crossings", 200_000, (i) => {
  const next = q.plus(parseDecimal(deltas[i & 4095]!.toFixed(), "quantity"));
  graduated.increment(q, next);
  graduated.crossings(q, next);
  q = (i & 65535) === 0 ? new Decimal(0) : next;
});

console.log(
  `\nHot path (graduated increment, worst of the above): ${Math.round(hotPath).toLocaleString("en-US")}/s — target ≥ ${TARGET_PER_SECOND.toLocaleString("en-US")}/s: ${hotPath >= TARGET_PER_SECOND ? "OK" : "BELOW TARGET"}`,
);
