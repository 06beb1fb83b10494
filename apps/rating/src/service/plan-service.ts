import { create, toBinary } from "@bufbuild/protobuf";
import { rating } from "@tally/contracts";
import { pageSize, encodePageToken, decodePageToken, enqueue, InvalidArgumentError, Violations, withTransaction, type FieldViolation, type ServiceDeps } from "@tally/platform";
import { getPlan, insertPlan, listLatestPlans, listPlanVersions, lockPlanKey } from "../adapter/plan-store";
import type { Db } from "../adapter/db";
import { ts } from "../adapter/proto-mapping";
import { PlanExistsError, PlanNotFoundError, VersionConflictError } from "../domain/errors";
import { buildRatePlan } from "../domain/plan-validation";
import type { Aggregation } from "../domain/rate-plan";
import type { MeterLookup } from "./meter-lookup";
import { planPublished } from "./outbox-events";
import type { PlanCatalog } from "./plan-catalog";

/** Plans: versioned, immutable rate cards. */
export class PlanService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly catalog: PlanCatalog,
    private readonly meters: MeterLookup,
  ) {}

  async create(plan: rating.Plan | undefined): Promise<rating.Plan> {
    if (!plan) throw new InvalidArgumentError({ field: "plan", message: "is required", code: "required" });
    return this.publish(plan, async (_db, latest) => {
      if (latest) throw new PlanExistsError(plan.key);
      return 1;
    });
  }

  async update(plan: rating.Plan | undefined, expectedVersion: number): Promise<rating.Plan> {
    if (!plan) throw new InvalidArgumentError({ field: "plan", message: "is required", code: "required" });
    return this.publish(plan, async (_db, latest) => {
      if (!latest) throw new PlanNotFoundError(plan.key, 0);
      if (expectedVersion > 0 && expectedVersion !== latest.version) throw new VersionConflictError(plan.key, expectedVersion, latest.version);
      const problems: FieldViolation[] = [];
      if (plan.currency !== latest.currency) problems.push({ field: "plan.currency", message: `cannot change between versions (was ${latest.currency})`, code: "not_allowed" });
      if (plan.billingInterval !== latest.billingInterval) problems.push({ field: "plan.billing_interval", message: "cannot change between versions", code: "not_allowed" });
      if (problems.length > 0) throw new InvalidArgumentError(problems);
      return latest.version + 1;
    });
  }

  private async publish(
    input: rating.Plan,
    nextVersion: (db: Db, latest: rating.Plan | undefined) => Promise<number>,
  ): Promise<rating.Plan> {
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
      const latest = latestRow ? this.catalog.fromRow(latestRow).proto : undefined;
      const version = await nextVersion(db, latest);
      const plan = create(rating.PlanSchema, { ...input, version, createTime: ts(now) });
      await insertPlan(db, { key: plan.key, version, currency: plan.currency, definition: toBinary(rating.PlanSchema, plan), aggregations, createTime: now });
      await enqueue(db, [planPublished(plan, now)]);
      return plan;
    });
  }

  async get(key: string, version: number): Promise<rating.Plan> {
    const v = new Violations();
    if (!key) v.add("key", "is required", "required");
    if (version < 0) v.add("version", "must be >= 0", "out_of_range");
    v.throwIfAny();
    return (await this.catalog.get(this.deps.pool, key, version)).proto;
  }

  async list(req: rating.ListPlansRequest): Promise<{ plans: rating.Plan[]; nextPageToken: string }> {
    const limit = pageSize(req.pageSize);
    if (req.key) {
      const cursor = decodePageToken(req.pageToken, ["version"]);
      const before = cursor ? Number(cursor.version) : 2_147_483_647;
      const rows = await listPlanVersions(this.deps.pool, req.key, before, limit + 1);
      if (rows.length === 0 && !cursor) throw new PlanNotFoundError(req.key, 0);
      const page = rows.slice(0, limit);
      return {
        plans: page.map((r) => this.catalog.fromRow(r).proto),
        nextPageToken: rows.length > limit ? encodePageToken({ version: String(page[page.length - 1]!.version) }) : "",
      };
    }
    const cursor = decodePageToken(req.pageToken, ["key"]);
    const rows = await listLatestPlans(this.deps.pool, cursor?.key ?? "", limit + 1);
    const page = rows.slice(0, limit);
    return {
      plans: page.map((r) => this.catalog.fromRow(r).proto),
      nextPageToken: rows.length > limit ? encodePageToken({ key: page[page.length - 1]!.key }) : "",
    };
  }
}
