import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { allSubjectsOf, sourceOf, SUBJECTS, type EventSource } from "./subjects";

const PROTO = join(__dirname, "../../../proto/tally");

describe("subject registry", () => {
  // Each events.proto names its subjects in comments: the registry must list exactly those.
  it.each(Object.keys(SUBJECTS) as EventSource[])("lists every subject tally.%s.v1 declares in events.proto", (source) => {
    const proto = readFileSync(join(PROTO, source, "v1", "events.proto"), "utf8");
    const declared = new Set([...proto.matchAll(new RegExp(`tally\\.${source}\\.v1\\.[a-z_]+\\.[a-z_]+`, "g"))].map((m) => m[0]));
    expect(Object.values(SUBJECTS[source]).sort()).toEqual([...declared].sort());
  });

  it("covers every package that has an events.proto", () => {
    const withEvents = readdirSync(PROTO).filter((pkg) => readdirSync(join(PROTO, pkg, "v1")).includes("events.proto"));
    expect(Object.keys(SUBJECTS).sort()).toEqual(withEvents.sort());
  });

  it("derives the stream filter and the event source from the subject", () => {
    expect(allSubjectsOf("rating")).toBe("tally.rating.v1.>");
    expect(sourceOf(SUBJECTS.rating.usageRated)).toBe("tally.rating");
  });
});
