import { pageSize, encodePageToken, decodePageToken, enqueue, InvalidArgumentError, Violations, withTransaction, type FieldViolation, type ServiceDeps } from "@tally/platform";
import { getPlan, insertPlan, listLatestPlans, listPlanVersions, lockPlanKey } from "../adapter/plan-store";
import type { Db } from "../adapter/db";
import { planPublished } from "../adapter/outbox-events";
import { storedDefinition } from "../adapter/plan-mapping";
import { PlanExistsError, PlanNotFoundError, VersionConflictError } from "../domain/errors";
import type { PlanDraft } from "../domain/plan-draft";
import { buildRatePlan } from "../domain/plan-validation";
import type { Aggregation, RatePlan } from "../domain/rate-plan";
import type { MeterLookup } from "./meter-lookup";
import type { LoadedPlan, PlanCatalog } from "./plan-catalog";

/** A page of plans: every version of `key`, newest first, or (no key) the latest version of each plan. */
export interface ListPlansQuery {
  key: string;
  pageSize: number;
  pageToken: string;
}

/** Plans: versioned, immutable rate cards. */
export class PlanService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly meters: MeterLookup,
  ) {}

  async create(plan: PlanDraft | undefined): Promise<LoadedPlan> {
    if (!plan) throw new InvalidArgumentError({ field: "plan", message: "is required", code: "required" });
    return this.publish(plan, async (_db, latest) => {
      if (latest) throw new PlanExistsError(plan.key);
      return 1;
    });
  }

  async update(plan: PlanDraft | undefined, expectedVersion: number): Promise<LoadedPlan> {
    if (!plan) throw new InvalidArgumentError({ field: "plan", message: "is required", code: "required" });
    return this.publish(plan, async (_db, latest) => {
      if (!latest) throw new PlanNotFoundError(plan.key, 0);
      if (expectedVersion > 0 && expectedVersion !== latest.version) throw new VersionConflictError(plan.key, expectedVersion, latest.version);
      const problems: FieldViolation[] = [];
      if (plan.currency !== latest.currency) problems.push({ field: "plan.currency", message: `cannot change between versions (was ${latest.currency})`, code: "not_allowed" });
      if (plan.interval !== latest.interval) problems.push({ field: "plan.billing_interval", message: "cannot change between versions", code: "not_allowed" });
      if (problems.length > 0) throw new InvalidArgumentError(problems);
      return latest.version + 1;
    });
  }

  private async publish(input: PlanDraft, nextVersion: (db: Db, latest: RatePlan | undefined) => Promise<number>): Promise<LoadedPlan> {
    const meters = await this.meters.find(
      input.components.map((c) => c.meterKey),
      input.components.map((_, i) => `plan.components[${i}].meter_key`),
    );
    const rate = buildRatePlan(input, (key) => meters.get(key));
    const aggregations: Record<string, Aggregation> = Object.fromEntries(rate.components.map((c) => [c.key, c.aggregation]));
    const now = this.deps.clock.now();
    return withTransaction(this.deps.pool, async (db) => {
      await lockPlanKey(db, input.key);
      const latestRow = await getPlan(db, input.key, 0);
      const latest = latestRow ? this.catalog.fromRow(latestRow).rate : undefined;
      const version = await nextVersion(db, latest);
      const row = { key: input.key, version, currency: input.currency, definition: storedDefinition(input.written, version, now), aggregations, createTime: now };
      await insertPlan(db, row);
      await enqueue(db, [planPublished(row, now)]);
      return { row, rate: { ...rate, version } };
    });
  }

  async get(key: string, version: number): Promise<LoadedPlan> {
    const v = new Violations();
    if (!key) v.add("key", "is required", "required");
    if (version < 0) v.add("version", "must be >= 0", "out_of_range");
    v.throwIfAny();
    return this.catalog.get(this.deps.pool, key, version);
  }

  async list(query: ListPlansQuery): Promise<{ plans: LoadedPlan[]; nextPageToken: string }> {
    const limit = pageSize(query.pageSize);
    if (query.key) {
      const cursor = decodePageToken(query.pageToken, ["version"]);
      const before = cursor ? Number(cursor.version) : 2_147_483_647;
      const rows = await listPlanVersions(this.deps.pool, query.key, before, limit + 1);
      if (rows.length === 0 && !cursor) throw new PlanNotFoundError(query.key, 0);
      const page = rows.slice(0, limit);
      return {
        plans: page.map((r) => this.catalog.fromRow(r)),
        nextPageToken: rows.length > limit ? encodePageToken({ version: String(page[page.length - 1]!.version) }) : "",
      };
    }
    const cursor = decodePageToken(query.pageToken, ["key"]);
    const rows = await listLatestPlans(this.deps.pool, cursor?.key ?? "", limit + 1);
    const page = rows.slice(0, limit);
    return {
      plans: page.map((r) => this.catalog.fromRow(r)),
      nextPageToken: rows.length > limit ? encodePageToken({ key: page[page.length - 1]!.key }) : "",
    };
  }
}
