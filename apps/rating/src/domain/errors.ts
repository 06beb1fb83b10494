import { AlreadyExistsError, Code, NotFoundError, TallyError } from "@tally/platform";

/** Rating's domain errors, with stable snake_case reasons (mapped to gRPC codes by the platform). */

export class SubscriptionNotFoundError extends NotFoundError {
  constructor(what: string, id: string) {
    super(what, id, "subscription_not_found");
  }
}

export class PlanNotFoundError extends NotFoundError {
  constructor(key: string, version: number) {
    super("plan", version > 0 ? `${key}@${version}` : key, "plan_not_found");
  }
}

export class PlanExistsError extends AlreadyExistsError {
  constructor(key: string) {
    super(`plan "${key}" already exists (use UpdatePlan to create a new version)`, "plan_exists");
  }
}

export class SubscriptionExistsError extends AlreadyExistsError {
  constructor(customerId: string, existingId: string) {
    super(`customer "${customerId}" already has a live subscription (${existingId}); change its plan or cancel it first`, "subscription_exists");
  }
}

/** Optimistic concurrency failed (UpdatePlan.expected_version). */
export class VersionConflictError extends TallyError {
  constructor(key: string, expected: number, latest: number) {
    super(Code.Aborted, "version_conflict", `plan "${key}": expected version ${expected} is not the latest (${latest})`);
  }
}
