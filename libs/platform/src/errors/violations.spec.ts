import { InvalidArgumentError, Violations } from "./errors";

describe("Violations", () => {
  it("is empty until the first violation, then throws every one in order, with its code", () => {
    const v = new Violations<"required" | "too_long">();
    expect(v.empty).toBe(true);
    expect(v.count).toBe(0);
    expect(v.all).toEqual([]);
    expect(() => v.throwIfAny()).not.toThrow();
    v.add("events[0].id", "id is required", "required").add("events[1].id", "id is longer than 255 characters", "too_long").add("name", "is odd");
    expect(v.empty).toBe(false);
    expect(v.count).toBe(3);
    let thrown: unknown;
    try {
      v.throwIfAny("bad_batch");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).reason).toBe("bad_batch");
    expect((thrown as InvalidArgumentError).violations).toEqual([
      { field: "events[0].id", message: "id is required", code: "required" },
      { field: "events[1].id", message: "id is longer than 255 characters", code: "too_long" },
      { field: "name", message: "is odd" },
    ]);
  });

  it("shares one empty list among collectors that found nothing (no allocation per valid input)", () => {
    expect(new Violations().all).toBe(new Violations().all);
  });
});
