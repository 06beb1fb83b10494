import { execFile } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "../..");

/**
 * The CI lint step (`eslint .`) fails on an app importing another app, or a lib importing an app.
 * Runs the real eslint CLI on the repo's config (its flat config loads through a dynamic import,
 * which jest's module system does not run).
 */
function lint(file: string, source: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(ROOT, "node_modules/.bin/eslint"),
      ["--format", "json", "--stdin", "--stdin-filename", join(ROOT, file)],
      { cwd: ROOT },
      (err, stdout) => {
        try {
          const [result] = JSON.parse(stdout) as { messages: { ruleId: string | null; line: number }[] }[];
          resolve(result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.line));
        } catch {
          reject(err ?? new Error(stdout));
        }
      },
    );
    child.stdin!.end(source);
  });
}

describe("module boundaries (eslint no-restricted-imports)", () => {
  jest.setTimeout(30_000);

  it.each([
    ["apps/rating/src/service/x.ts", 'import { meteringService } from "@tally/metering";\nexport const x = meteringService;\n'],
    ["apps/limits/src/x.ts", 'import { ratingService } from "../../rating/src";\nexport const x = ratingService;\n'],
    ["libs/platform/src/x.ts", 'import { limitsService } from "@tally/limits";\nexport const x = limitsService;\n'],
  ])("refuses %s importing an app", async (file, source) => {
    expect(await lint(file, source)).toEqual([1]);
  });

  it("allows libs, an app's own modules, and the cross-service tests", async () => {
    expect(await lint("apps/rating/src/x.ts", 'import { SUBJECTS } from "@tally/contracts";\nimport { LIMITS } from "../domain/limits";\nexport const x = [SUBJECTS, LIMITS];\n')).toEqual([]);
    expect(await lint("test/e2e/x.ts", 'import { ratingService } from "@tally/rating";\nexport const x = ratingService;\n')).toEqual([]);
  });

  const protoImport = 'import { rating } from "@tally/contracts";\nexport const x = rating.FeeTiming.IN_ADVANCE;\n';

  it.each([
    ["apps/rating/src/domain/x.ts", protoImport],
    ["apps/rating/src/service/x.ts", 'import { create } from "@bufbuild/protobuf";\nexport const x = create;\n'],
    ["apps/rating/src/service/x.ts", 'import { meteringService } from "@tally/metering";\nexport const x = meteringService;\n'],
  ])("keeps proto messages (and other apps) out of rating's domain and service layers: %s", async (file, source) => {
    expect(await lint(file, source)).toEqual([1]);
  });

  it.each([
    ["apps/rating/src/rpc/x.ts", protoImport],
    ["apps/rating/src/domain/x.ts", 'import type { Aggregation } from "@tally/contracts";\nexport type X = Aggregation;\n'],
  ])("lets rpc/ map proto messages and domain/ name the Aggregation type: %s", async (file, source) => {
    expect(await lint(file, source)).toEqual([]);
  });
});
