import { AlreadyExistsError, InvalidArgumentError, NotFoundError, PG_UNIQUE_VIOLATION, pgErrorCode, type Pool } from "@tally/platform";
import * as customers from "../adapter/customer-store";
import * as limitStore from "../adapter/limit-store";
import { newId } from "../domain/ids";
import { positionVersions } from "./position-cache";
import { compareLimits, resolveEffectiveLimits } from "../domain/limit-resolution";
import { validateLimit, type LimitInput } from "../domain/limit-validation";
import type { Limit, LimitScope } from "../domain/types";

/** Plan default and customer override limits. */
export class LimitService {
  constructor(private readonly pool: Pool) {}

  async set(input: LimitInput): Promise<Limit> {
    const scopeCurrency = input.scope ? await this.scopeCurrency(input.scope) : null;
    const meterKnown = input.meterKey !== "" && (await customers.meterKnown(this.pool, input.meterKey));
    const valid = validateLimit(input, { scopeCurrency, meterKnown });
    if (input.id !== "" && !(await limitStore.findLimit(this.pool, input.id))) throw new NotFoundError("limit", input.id, "limit_not_found");
    try {
      return await limitStore.upsertLimit(this.pool, { id: input.id !== "" ? input.id : newId("lim"), ...valid }, input.id !== "");
    } catch (err) {
      if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) {
        throw new AlreadyExistsError("another limit already has this (scope, meter_key, measure, kind)", "limit_conflict");
      }
      throw err;
    } finally {
      positionVersions(this.pool).changed();
    }
  }

  async get(scope: LimitScope | undefined): Promise<Limit[]> {
    if (!scope) throw new InvalidArgumentError({ field: "scope", message: "exactly one of plan_key or customer_id is required", code: "required" });
    if ("planKey" in scope) return (await limitStore.planLimits(this.pool, scope.planKey)).sort(compareLimits);
    const customer = await customers.findCustomer(this.pool, scope.customerId);
    return resolveEffectiveLimits(await limitStore.customerLimitCandidates(this.pool, scope.customerId, customer?.planKey ?? null));
  }

  async delete(id: string): Promise<void> {
    if (id === "") throw new InvalidArgumentError({ field: "id", message: "is required", code: "required" });
    const deleted = await limitStore.deleteLimit(this.pool, id).finally(() => positionVersions(this.pool).changed());
    if (!deleted) throw new NotFoundError("limit", id, "limit_not_found");
  }

  private async scopeCurrency(scope: LimitScope): Promise<string | null> {
    if ("planKey" in scope) return scope.planKey === "" ? null : customers.planCurrency(this.pool, scope.planKey);
    if (scope.customerId === "") return null;
    const customer = await customers.findCustomer(this.pool, scope.customerId);
    return customer?.planKey ? customers.planCurrency(this.pool, customer.planKey) : null;
  }
}
