import { sameContent, type EventContent } from "./event-content";

const T1 = new Date("2026-01-01T00:00:00Z");
const T2 = new Date("2026-01-01T00:00:01Z");

function content(overrides: Partial<EventContent> = {}): EventContent {
  return { customerId: "c1", eventType: "llm", properties: { a: "1", b: "2" }, time: T1, timeGiven: true, ...overrides };
}

describe("sameContent", () => {
  it("ignores property order and nothing else", () => {
    expect(sameContent(content(), content({ properties: { b: "2", a: "1" } }))).toBe(true);
    expect(sameContent(content(), content({ customerId: "c2" }))).toBe(false);
    expect(sameContent(content(), content({ eventType: "llm2" }))).toBe(false);
    expect(sameContent(content(), content({ properties: { a: "1", b: "3" } }))).toBe(false);
    expect(sameContent(content(), content({ properties: { a: "1" } }))).toBe(false);
    expect(sameContent(content({ properties: { a: "1" } }), content())).toBe(false);
    expect(sameContent(content({ properties: { a: "1", c: "2" } }), content())).toBe(false);
  });

  it("cannot be fooled by moving text between fields or by an empty value", () => {
    expect(sameContent(content({ properties: { "a,b": "1" } }), content({ properties: { a: "b,1" } }))).toBe(false);
    expect(sameContent(content({ customerId: "c1l", eventType: "lm" }), content({ customerId: "c1", eventType: "llm" }))).toBe(false);
    expect(sameContent(content({ properties: { a: "" } }), content({ properties: { b: "" } }))).toBe(false);
  });

  it("compares times only when both sides gave one", () => {
    expect(sameContent(content(), content({ time: T2 }))).toBe(false);
    expect(sameContent(content(), content({ time: T2, timeGiven: false }))).toBe(true);
    expect(sameContent(content({ timeGiven: false }), content({ time: T2 }))).toBe(true);
  });
});
