import fc from "fast-check";
import { Decimal } from "@tally/pricing";
import { compareBurnOrder } from "./burn-order";
import { CreditLedger, grantStatus, type GrantState, type Movement } from "./credit-ledger";

const d = (s: string | number) => new Decimal(s);
const T0 = new Date("2026-01-01T00:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * 86_400_000);

function grant(id: string, amount: string, over: Partial<GrantState> = {}): GrantState {
  return {
    id,
    priority: 0,
    effectiveTime: T0,
    expireTime: null,
    createTime: T0,
    amount: d(amount),
    remaining: d(0),
    burned: d(0),
    credited: false,
    closed: null,
    ...over,
  };
}

const sum = (ms: readonly Movement[]) => ms.reduce((s, m) => s.plus(m.amount), d(0));

describe("burn order", () => {
  it("lower priority first, then soonest expiry (never last), then oldest", () => {
    const keys = [
      { id: "never", priority: 1, expireTime: null, effectiveTime: at(0), createTime: at(0) },
      { id: "late", priority: 1, expireTime: at(30), effectiveTime: at(0), createTime: at(0) },
      { id: "soon-new", priority: 1, expireTime: at(10), effectiveTime: at(2), createTime: at(2) },
      { id: "soon-old", priority: 1, expireTime: at(10), effectiveTime: at(1), createTime: at(1) },
      { id: "prio0", priority: 0, expireTime: null, effectiveTime: at(5), createTime: at(5) },
    ];
    expect([...keys].sort(compareBurnOrder).map((k) => k.id)).toEqual(["prio0", "soon-old", "soon-new", "late", "never"]);
  });
});

describe("CreditLedger", () => {
  it("credits effective grants and burns in burn order: 30 from A (prio 0), then 20 of B's 50", () => {
    const ledger = new CreditLedger([grant("B", "50", { priority: 1 }), grant("A", "30", { priority: 0 })]);
    const booked = ledger.catchUp(T0);
    expect(booked.map((m) => [m.kind, m.grantId, m.amount.toFixed()])).toEqual([
      ["grant", "B", "50"],
      ["grant", "A", "30"],
    ]);
    const r = ledger.burn(d("50"), "ra#1", T0);
    expect(r.movements.map((m) => [m.grantId, m.amount.toFixed(), m.balanceAfter.toFixed()])).toEqual([
      ["A", "-30", "50"],
      ["B", "-20", "30"],
    ]);
    expect(r.uncovered.toFixed()).toBe("0");
    expect(ledger.balance().toFixed()).toBe("30");
  });

  it("never goes negative: what no grant covers is overage", () => {
    const ledger = new CreditLedger([grant("A", "10")]);
    ledger.catchUp(T0);
    const r = ledger.burn(d("12.5"), "ra#1", T0);
    expect([r.burned.toFixed(), r.uncovered.toFixed(), ledger.balance().toFixed()]).toEqual(["10", "2.5", "0"]);
    expect(grantStatus(ledger.all[0]!)).toBe("depleted");
  });

  it("pending grants are credited when their effective time comes; expired remainders are written off", () => {
    const ledger = new CreditLedger([grant("A", "10", { expireTime: at(5) }), grant("B", "7", { effectiveTime: at(3) })]);
    ledger.catchUp(at(1));
    ledger.burn(d("4"), "ra#1", at(1));
    expect(grantStatus(ledger.all[1]!)).toBe("pending");
    const later = ledger.catchUp(at(6));
    expect(later.map((m) => [m.kind, m.grantId, m.amount.toFixed()])).toEqual([
      ["grant", "B", "7"],
      ["expiry", "A", "-6"],
    ]);
    expect(ledger.balance().toFixed()).toBe("7");
    expect(grantStatus(ledger.all[0]!)).toBe("expired");
  });

  it("a grant past its expiry burns nothing even before the expiry is booked", () => {
    const ledger = new CreditLedger([grant("A", "10", { expireTime: at(1) }), grant("B", "10", { priority: 5 })]);
    ledger.catchUp(T0);
    const r = ledger.burn(d("3"), "ra#1", at(2));
    expect(r.movements.map((m) => m.grantId)).toEqual(["B"]);
  });

  it("gives credit back in reverse burn order, at most what was burned from each open grant", () => {
    const ledger = new CreditLedger([grant("A", "10"), grant("B", "10", { priority: 1 })]);
    ledger.catchUp(T0);
    ledger.burn(d("15"), "ra#1", T0); // A −10, B −5
    const back = ledger.giveBack(d("7"), "ra#2", T0);
    expect(back.movements.map((m) => [m.grantId, m.amount.toFixed()])).toEqual([
      ["B", "5"],
      ["A", "2"],
    ]);
    expect(ledger.balance().toFixed()).toBe("12");
  });

  it("voids the remainder once", () => {
    const ledger = new CreditLedger([grant("A", "10")]);
    ledger.catchUp(T0);
    ledger.burn(d("4"), "ra#1", T0);
    expect(ledger.void("A", "void:A").map((m) => m.amount.toFixed())).toEqual(["-6"]);
    expect(ledger.void("A", "void:A")).toEqual([]);
    expect(ledger.balance().toFixed()).toBe("0");
  });

  // Property: whatever happens, balance = Σ movements, no remainder < 0, and burned + uncovered = requested.
  it("balance always equals the sum of its ledger and never goes below zero", () => {
    const amount = fc.integer({ min: 1, max: 100_000 }).map((n) => d(n).div(100));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("grant" as const), amount, priority: fc.integer({ min: 0, max: 3 }), starts: fc.integer({ min: 0, max: 5 }), lasts: fc.option(fc.integer({ min: 1, max: 10 })) }),
      fc.record({ kind: fc.constant("burn" as const), amount }),
      fc.record({ kind: fc.constant("giveBack" as const), amount }),
      fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), days: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ledger = new CreditLedger([]);
        const entries: Movement[] = [];
        let day = 0;
        let n = 0;
        for (const o of ops) {
          const now = at(day);
          switch (o.kind) {
            case "grant": {
              const start = at(day + o.starts);
              ledger.add(grant(`g${n++}`, o.amount.toFixed(), { priority: o.priority, effectiveTime: start, createTime: now, expireTime: o.lasts === null ? null : at(day + o.starts + o.lasts) }));
              break;
            }
            case "burn": {
              entries.push(...ledger.catchUp(now));
              const r = ledger.burn(o.amount, `b${n++}`, now);
              entries.push(...r.movements);
              expect(r.burned.plus(r.uncovered).eq(o.amount)).toBe(true);
              expect(r.burned.eq(sum(r.movements).neg())).toBe(true);
              break;
            }
            case "giveBack": {
              entries.push(...ledger.catchUp(now));
              const r = ledger.giveBack(o.amount, `r${n++}`, now);
              entries.push(...r.movements);
              expect(r.returned.lte(o.amount)).toBe(true);
              break;
            }
            case "void": {
              const open = ledger.all.filter((g) => g.closed !== "expired");
              if (open.length > 0) entries.push(...ledger.void(open[o.pick % open.length]!.id, "void"));
              break;
            }
            case "advance":
              day += o.days;
              entries.push(...ledger.catchUp(at(day)));
              break;
          }
          expect(ledger.balance().eq(sum(entries))).toBe(true);
          expect(ledger.balance().gte(0)).toBe(true);
          for (const g of ledger.all) expect(g.remaining.gte(0) && g.burned.gte(0)).toBe(true);
          for (const e of entries) expect(e.balanceAfter.gte(0)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
