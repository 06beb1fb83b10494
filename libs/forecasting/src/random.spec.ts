import { createRandom, seedFrom } from "./random";

describe("seeded randomness", () => {
  it("repeats its sequence for a seed and differs between seeds", () => {
    const draw = (seed: number) => {
      const r = createRandom(seed);
      return [r.next(), r.normal(), r.index(10)];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it("stays in range, and its normal draws have mean ≈ 0 and spread ≈ 1", () => {
    const r = createRandom(7);
    const n = 20_000;
    const uniforms = Array.from({ length: n }, () => r.next());
    expect(Math.min(...uniforms)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniforms)).toBeLessThan(1);
    const normals = Array.from({ length: n }, () => r.normal());
    const mean = normals.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(normals.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it("derives a stable seed from text (a subscription and its period)", () => {
    expect(seedFrom("sub_1/2026-12-01T00:00:00.000Z")).toBe(seedFrom("sub_1/2026-12-01T00:00:00.000Z"));
    expect(seedFrom("sub_1/2026-12-01T00:00:00.000Z")).not.toBe(seedFrom("sub_2/2026-12-01T00:00:00.000Z"));
  });
});
