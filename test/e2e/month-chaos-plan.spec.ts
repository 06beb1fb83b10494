import { create } from "@bufbuild/protobuf";
import { invoicing } from "@tally/contracts";
import { monthChaos, planFaults, type MonthChaosOptions } from "../../tools/month/chaos";
import { invoiceDigest } from "../../tools/month/month-run";
import { seededRandom } from "../../tools/month/scenario";

/**
 * The pure parts of `npm run month -- --chaos` (the run itself takes minutes: see
 * tools/month/README.md): the seeded fault plan, and the digest that makes a chaos run's
 * invoices comparable with a clean run's.
 */
describe("the month's chaos plan", () => {
  const options: MonthChaosOptions = {
    seed: 16,
    ticksPerDay: 4,
    days: 30,
    processes: ["metering", "rating-1", "rating-2", "limits", "invoicing-1", "invoicing-2", "payments"],
    killsPerProcess: 2,
    customers: 100,
    log: () => undefined,
  };
  const plan = (seed: number) => planFaults({ ...options, seed }, seededRandom(seed));

  it("is the same for the same seed and differs for another", () => {
    expect(plan(16)).toEqual(plan(16));
    expect(plan(17)).not.toEqual(plan(16));
    const hook = (seed: number) => monthChaos({ seed, customers: 100, ticksPerDay: 4, killsPerProcess: 2, log: () => undefined }).describePlan();
    expect(hook(16)).toEqual(hook(16));
  });

  it("kills every process the given number of times, restarts Postgres once, and loses a NATS node for two ticks, each at its own tick", () => {
    for (const seed of [1, 2, 3, 16, 99]) {
      const p = plan(seed);
      for (const name of options.processes) expect(p.filter((x) => x.kind === "kill" && x.target === name)).toHaveLength(2);
      expect(p.filter((x) => x.kind === "postgres-restart")).toHaveLength(1);
      const lost = p.find((x) => x.kind === "nats-kill")!;
      expect(p.find((x) => x.kind === "nats-restart")).toMatchObject({ tick: lost.tick + 2, target: lost.target });
      expect(new Set(p.map((x) => x.tick)).size).toBe(p.length);
      // Never the first ticks (the catalog settles) nor the last two (the close follows).
      for (const x of p) expect(x.tick >= 2 && x.tick < 30 * 4 - 2).toBe(true);
    }
  });

  it("refuses a plan with more faults than ticks", () => {
    expect(() => planFaults({ ...options, ticksPerDay: 1, days: 10 }, seededRandom(1))).toThrow(/more faults than ticks/);
  });
});

describe("the invoice totals digest", () => {
  const invoice = (id: string, number: string, customerId: string, total: string) =>
    create(invoicing.InvoiceSchema, {
      id,
      number,
      customerId,
      currency: "USD",
      total,
      lines: [
        { ref: `${id}-a`, componentKey: "fee", quantity: "1", amount: "10" },
        { ref: `${id}-b`, componentKey: "tokens", quantity: "100", amount: total },
      ],
    });

  it("ignores ids, numbers and order, and sees every amount", () => {
    const a = [invoice("inv_1", "TLY-1", "c1", "5"), invoice("inv_2", "TLY-2", "c2", "7")];
    const b = [invoice("inv_9", "TLY-8", "c2", "7"), invoice("inv_8", "TLY-9", "c1", "5")];
    expect(invoiceDigest(b)).toBe(invoiceDigest(a));
    expect(invoiceDigest([invoice("inv_1", "TLY-1", "c1", "5"), invoice("inv_2", "TLY-2", "c2", "7.01")])).not.toBe(invoiceDigest(a));
  });
});
