import { nominalPeriodOf, pendingChangeAt, periodOf, planAt, segmentsIn, statusAt, type SubscriptionFacts } from "./subscription";

const d = (s: string) => new Date(s);
const base: SubscriptionFacts = {
  id: "s",
  customerId: "c",
  timeZone: "UTC",
  anchor: "anniversary",
  startTime: d("2026-01-31T00:00:00Z"),
  cancelTime: null,
  phases: [{ from: d("2026-01-31T00:00:00Z"), interval: "month" }],
  segments: [{ start: d("2026-01-31T00:00:00Z"), planKey: "a", planVersion: 1 }],
  createTime: d("2026-01-31T00:00:00Z"),
  revision: 1,
};

describe("subscription periods and segments", () => {
  it("derives status from the start and cancel times", () => {
    expect(statusAt(base, d("2026-01-30T00:00:00Z"))).toBe("pending");
    expect(statusAt(base, d("2026-02-01T00:00:00Z"))).toBe("active");
    expect(statusAt({ ...base, cancelTime: d("2026-02-10T00:00:00Z") }, d("2026-02-10T00:00:00Z"))).toBe("canceled");
  });

  it("splits a period into plan segments and shows a change at the period end as pending", () => {
    const sub: SubscriptionFacts = {
      ...base,
      segments: [...base.segments, { start: d("2026-03-10T00:00:00Z"), planKey: "b", planVersion: 1 }, { start: d("2026-03-31T00:00:00Z"), planKey: "c", planVersion: 2 }],
    };
    const now = d("2026-03-15T00:00:00Z");
    const period = periodOf(sub, now);
    expect([period.start, period.end]).toEqual([d("2026-02-28T00:00:00Z"), d("2026-03-31T00:00:00Z")]);
    expect(segmentsIn(sub, period).map((s) => [s.planKey, s.start.toISOString(), s.end.toISOString()])).toEqual([
      ["a", "2026-02-28T00:00:00.000Z", "2026-03-10T00:00:00.000Z"],
      ["b", "2026-03-10T00:00:00.000Z", "2026-03-31T00:00:00.000Z"],
    ]);
    expect(planAt(sub, now).planKey).toBe("b");
    expect(pendingChangeAt(sub, now)).toMatchObject({ kind: "plan_change", planKey: "c" });
  });

  it("ends the last period early on an immediate cancel, and starts a new phase on an interval change", () => {
    const canceled = { ...base, cancelTime: d("2026-02-10T00:00:00Z") };
    expect(periodOf(canceled, d("2026-05-01T00:00:00Z"))).toEqual({ start: d("2026-01-31T00:00:00Z"), end: d("2026-02-10T00:00:00Z") });
    const yearly: SubscriptionFacts = { ...base, phases: [...base.phases, { from: d("2026-02-28T00:00:00Z"), interval: "year" }] };
    expect(periodOf(yearly, d("2026-02-27T00:00:00Z")).end).toEqual(d("2026-02-28T00:00:00Z"));
    expect(periodOf(yearly, d("2026-06-01T00:00:00Z"))).toEqual({ start: d("2026-02-28T00:00:00Z"), end: d("2027-02-28T00:00:00Z") });
  });

  it("gives the nominal period of a partial one: never cut at the start, the cancel time or a next phase", () => {
    const nominal = (sub: SubscriptionFacts, t: string) => nominalPeriodOf(sub, periodOf(sub, d(t)));
    // Canceled on day 10 of an anniversary month: billed [Jan 31, Feb 10), nominal [Jan 31, Feb 28).
    expect(nominal({ ...base, cancelTime: d("2026-02-10T00:00:00Z") }, "2026-02-05T00:00:00Z")).toEqual({ start: d("2026-01-31T00:00:00Z"), end: d("2026-02-28T00:00:00Z") });
    // CALENDAR, starting Jan 20 in Berlin: billed from the start, nominal the whole local January.
    const berlin: SubscriptionFacts = { ...base, anchor: "calendar", timeZone: "Europe/Berlin", startTime: d("2026-01-20T12:00:00Z"), phases: [{ from: d("2026-01-20T12:00:00Z"), interval: "month" }] };
    expect(periodOf(berlin, d("2026-01-25T00:00:00Z"))).toEqual({ start: d("2026-01-20T12:00:00Z"), end: d("2026-01-31T23:00:00Z") });
    expect(nominal(berlin, "2026-01-25T00:00:00Z")).toEqual({ start: d("2025-12-31T23:00:00Z"), end: d("2026-01-31T23:00:00Z") });
    // A whole period is its own nominal period.
    expect(nominal(berlin, "2026-03-15T00:00:00Z")).toEqual(periodOf(berlin, d("2026-03-15T00:00:00Z")));
    // CALENDAR switching to yearly on Jun 1: that year's first period is [Jun 1, Jan 1), nominal the whole year.
    const cal: SubscriptionFacts = { ...base, anchor: "calendar", startTime: d("2026-01-01T00:00:00Z"), phases: [{ from: d("2026-01-01T00:00:00Z"), interval: "month" }, { from: d("2026-06-01T00:00:00Z"), interval: "year" }] };
    expect(periodOf(cal, d("2026-07-01T00:00:00Z"))).toEqual({ start: d("2026-06-01T00:00:00Z"), end: d("2027-01-01T00:00:00Z") });
    expect(nominal(cal, "2026-07-01T00:00:00Z")).toEqual({ start: d("2026-01-01T00:00:00Z"), end: d("2027-01-01T00:00:00Z") });
  });
});
