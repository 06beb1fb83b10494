import { limits as pb, SUBJECTS } from "@tally/contracts";
import { eventMessage, type OutboxMessage } from "@tally/platform";
import { alertToWire, grantToWire, ts } from "../adapter/wire";
import type { CreditGrant, GrantStatus, TriggeredAlert } from "../domain/types";

// Event ids are derived from what they announce, so a retried transaction publishes the same id.

export function alertTriggeredMessage(alert: TriggeredAlert, now: Date): OutboxMessage {
  return eventMessage(pb.AlertTriggeredSchema, SUBJECTS.limits.alertTriggered, `alert-triggered:${alert.id}`, now, { alert: alertToWire(alert) });
}

export function creditsDepletedMessage(customerId: string, depletion: number, at: Date, now: Date): OutboxMessage {
  return eventMessage(pb.CreditsDepletedSchema, SUBJECTS.limits.creditsDepleted, `credits-depleted:${customerId}:${depletion}`, now, { customerId, time: ts(at) });
}

export function creditsGrantedMessage(grant: CreditGrant, status: GrantStatus, now: Date): OutboxMessage {
  return eventMessage(pb.CreditsGrantedSchema, SUBJECTS.limits.creditsGranted, `credits-granted:${grant.id}`, now, { grant: grantToWire(grant, status) });
}
