import { loadRatingSettings } from "./settings";

describe("RATING_FORECAST_INLINE_MAX", () => {
  it("defaults to 100, takes 0 (never project on request) and up, and names itself when bad", () => {
    expect(loadRatingSettings({}).forecastInlineMax).toBe(100);
    expect(loadRatingSettings({ RATING_FORECAST_INLINE_MAX: "0" }).forecastInlineMax).toBe(0);
    expect(loadRatingSettings({ RATING_FORECAST_INLINE_MAX: "5000" }).forecastInlineMax).toBe(5000);
    for (const bad of ["-1", "many", "1.5"]) expect(() => loadRatingSettings({ RATING_FORECAST_INLINE_MAX: bad })).toThrow("RATING_FORECAST_INLINE_MAX");
  });
});
