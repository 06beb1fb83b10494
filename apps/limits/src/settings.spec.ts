import { ConfigError } from "@tally/platform";
import { loadLimitsSettings } from "./settings";

describe("limits settings: admission control", () => {
  it("sheds at the gRPC server's door by default", () => {
    expect(loadLimitsSettings({}).shed).toEqual({ maxLagMs: Number.POSITIVE_INFINITY, minDeadlineMs: 50 });
  });

  it("takes both thresholds from the environment; both at 0 turn admission control off", () => {
    expect(loadLimitsSettings({ LIMITS_SHED_LAG_MS: "300", LIMITS_SHED_MIN_DEADLINE_MS: "25" }).shed).toEqual({ maxLagMs: 300, minDeadlineMs: 25 });
    expect(loadLimitsSettings({ LIMITS_SHED_LAG_MS: "0", LIMITS_SHED_MIN_DEADLINE_MS: "0" }).shed).toBeUndefined();
  });

  it("refuses to start on a bad value, naming the variable", () => {
    expect(() => loadLimitsSettings({ LIMITS_SHED_LAG_MS: "-5" })).toThrow(ConfigError);
    expect(() => loadLimitsSettings({ LIMITS_SHED_MIN_DEADLINE_MS: "soon" })).toThrow(/LIMITS_SHED_MIN_DEADLINE_MS/);
  });
});
