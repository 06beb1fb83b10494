import { create, toBinary } from "@bufbuild/protobuf";
import { limits as pb } from "@tally/contracts";
import type { OutboxMessage } from "@tally/platform";
import { alertToWire, grantToWire, ts } from "../adapter/wire";
import type { CreditGrant, GrantStatus, TriggeredAlert } from "../domain/types";

/** Subjects limits publishes on (each a proto message from tally.limits.v1). */
export const SUBJECTS = {
  alertTriggered: "tally.limits.v1.alert.triggered",
  creditsDepleted: "tally.limits.v1.credits.depleted",
  creditsGranted: "tally.limits.v1.credits.granted",
} as const;

const SOURCE = "tally.limits";

/** Event ids are derived from what they announce, so a retried transaction publishes the same id. */
function meta(id: string, subject: string, time: Date) {
  return { id, source: SOURCE, subject, time: ts(time) };
}

export function alertTriggeredMessage(alert: TriggeredAlert, now: Date): OutboxMessage {
  const id = `alert-triggered:${alert.id}`;
  const payload = create(pb.AlertTriggeredSchema, { meta: meta(id, SUBJECTS.alertTriggered, now), alert: alertToWire(alert) });
  return { subject: SUBJECTS.alertTriggered, msgId: id, payload: toBinary(pb.AlertTriggeredSchema, payload) };
}

export function creditsDepletedMessage(customerId: string, depletion: number, at: Date, now: Date): OutboxMessage {
  const id = `credits-depleted:${customerId}:${depletion}`;
  const payload = create(pb.CreditsDepletedSchema, { meta: meta(id, SUBJECTS.creditsDepleted, now), customerId, time: ts(at) });
  return { subject: SUBJECTS.creditsDepleted, msgId: id, payload: toBinary(pb.CreditsDepletedSchema, payload) };
}

export function creditsGrantedMessage(grant: CreditGrant, status: GrantStatus, now: Date): OutboxMessage {
  const id = `credits-granted:${grant.id}`;
  const payload = create(pb.CreditsGrantedSchema, { meta: meta(id, SUBJECTS.creditsGranted, now), grant: grantToWire(grant, status) });
  return { subject: SUBJECTS.creditsGranted, msgId: id, payload: toBinary(pb.CreditsGrantedSchema, payload) };
}
