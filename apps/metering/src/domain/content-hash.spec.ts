import { contentHash, sameContent } from "./content-hash";

describe("content hash", () => {
  it("ignores property order and nothing else", () => {
    const h = contentHash("c1", "llm", { a: "1", b: "2" });
    expect(contentHash("c1", "llm", { b: "2", a: "1" })).toBe(h);
    expect(contentHash("c2", "llm", { a: "1", b: "2" })).not.toBe(h);
    expect(contentHash("c1", "llm2", { a: "1", b: "2" })).not.toBe(h);
    expect(contentHash("c1", "llm", { a: "1", b: "3" })).not.toBe(h);
    expect(contentHash("c1", "llm", { a: "1" })).not.toBe(h);
  });

  it("cannot be forged by moving text between fields", () => {
    expect(contentHash("c1", "llm", { "a,b": "1" })).not.toBe(contentHash("c1", "llm", { a: "b,1" }));
    expect(contentHash("c1l", "lm", {})).not.toBe(contentHash("c1", "llm", {}));
  });

  it("compares times only when both sides gave one", () => {
    const t1 = new Date("2026-01-01T00:00:00Z");
    const t2 = new Date("2026-01-01T00:00:01Z");
    expect(sameContent({ hash: "h", time: t1, timeGiven: true }, { hash: "h", time: t2, timeGiven: true })).toBe(false);
    expect(sameContent({ hash: "h", time: t1, timeGiven: true }, { hash: "h", time: t2, timeGiven: false })).toBe(true);
    expect(sameContent({ hash: "h", time: t1, timeGiven: false }, { hash: "h", time: t2, timeGiven: true })).toBe(true);
    expect(sameContent({ hash: "h", time: t1, timeGiven: true }, { hash: "g", time: t1, timeGiven: true })).toBe(false);
  });
});
