/**
 * @tally/contracts: TypeScript generated from proto/ by protoc-gen-es.
 *
 * One namespace per proto package, so that names shared by several packages
 * (e.g. `InvoiceLine`, `LineKind`, the per-package `events_pb` files) never
 * clash and call sites say which API they mean:
 *
 *   import { create } from "@bufbuild/protobuf";
 *   import { metering } from "@tally/contracts";
 *   const req = create(metering.RecordRequestSchema, { event: { id: "evt_1", customerId: "c_1", eventType: "llm.completion" } });
 *   // service descriptor for connect-es: metering.Meter
 *
 * Each namespace re-exports every generated file of its package (see
 * ./metering.ts etc.). Regenerate with `npm run generate` at the repo root.
 */
export * as common from "./common";
export * as metering from "./metering";
export * as rating from "./rating";
export * as limits from "./limits";
export * as invoicing from "./invoicing";
export * as payments from "./payments";
// Hand-written: the one mapping of the aggregation enum (see aggregation.ts).
export { aggregationFromProto, aggregationToProto, UnknownAggregationError, type Aggregation } from "./aggregation";
// Hand-written: every event subject, in one registry (see subjects.ts).
export { allSubjectsOf, entitySubjectsOf, sourceOf, SUBJECTS, type EventSource, type Subject } from "./subjects";
// Hand-written: the services and their default ports (see services.ts).
export { DEFAULT_PORTS, type ServiceName } from "./services";
