import { getPlan, type PlanRow } from "../adapter/plan-store";
import type { Db } from "../adapter/db";
import { storedPlanDraft } from "../adapter/plan-mapping";
import { PlanNotFoundError } from "../domain/errors";
import { buildRatePlan } from "../domain/plan-validation";
import type { RatePlan } from "../domain/rate-plan";

/** A stored plan version: its row (the plan as written) and what rating prices with. */
export interface LoadedPlan {
  row: PlanRow;
  rate: RatePlan;
}

/**
 * Plan versions are immutable, so each is decoded and mapped to pricing types once per process
 * and kept (the pricer caches hang off these objects).
 */
export class PlanCatalog {
  private readonly plans = new Map<string, LoadedPlan>();

  /** A cached version, if this process has seen it. */
  cached(key: string, version: number): LoadedPlan | undefined {
    return this.plans.get(`${key}@${version}`);
  }

  /** One version (0 = latest); NotFound if unknown. */
  async get(db: Db, key: string, version: number): Promise<LoadedPlan> {
    const hit = version > 0 ? this.cached(key, version) : undefined;
    if (hit) return hit;
    const row = await getPlan(db, key, version);
    if (!row) throw new PlanNotFoundError(key, version);
    return this.fromRow(row);
  }

  fromRow(row: PlanRow): LoadedPlan {
    const hit = this.cached(row.key, row.version);
    if (hit) return hit;
    const rate: RatePlan = { ...buildRatePlan(storedPlanDraft(row), null, row.aggregations), version: row.version };
    const loaded = { row, rate };
    this.plans.set(`${row.key}@${row.version}`, loaded);
    return loaded;
  }
}
