import { ConfigError } from "@tally/platform";
import { SUBJECTS } from "@tally/contracts";
import { loadUsagePartitions, usageConsumers } from "./usage-partitions";

const USAGE = SUBJECTS.metering.usageRecorded;

describe("usage partitions", () => {
  it("shares the one durable consumer by default", () => {
    expect(usageConsumers(USAGE, loadUsagePartitions({}))).toEqual([{ durable: "rating", subject: "tally.metering.v1.usage.recorded" }]);
  });

  it("takes every partition's own consumer when partitioned", () => {
    expect(usageConsumers(USAGE, loadUsagePartitions({ RATING_PARTITIONS: "2" }))).toEqual([
      { durable: "rating-p0", subject: "tally.metering.v1.usage.recorded.0.*" },
      { durable: "rating-p1", subject: "tally.metering.v1.usage.recorded.1.*" },
    ]);
  });

  it("takes only the partitions it is given", () => {
    expect(usageConsumers(USAGE, loadUsagePartitions({ RATING_PARTITIONS: "4", RATING_PARTITIONS_TAKEN: "1,3" })).map((c) => c.durable)).toEqual(["rating-p1", "rating-p3"]);
  });

  it.each([
    [{ RATING_PARTITIONS: "-1" }, /RATING_PARTITIONS must be an integer/],
    [{ RATING_PARTITIONS: "4", RATING_PARTITIONS_TAKEN: "1,4" }, /RATING_PARTITIONS_TAKEN must list distinct partitions 0..3, got "1,4"/],
    [{ RATING_PARTITIONS: "4", RATING_PARTITIONS_TAKEN: "1,1" }, /distinct/],
    [{ RATING_PARTITIONS_TAKEN: "0" }, /needs RATING_PARTITIONS/],
  ])("refuses %j", (env, message) => {
    expect(() => loadUsagePartitions(env)).toThrow(ConfigError);
    expect(() => loadUsagePartitions(env)).toThrow(message);
  });
});
