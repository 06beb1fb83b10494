/**
 * Every NATS subject Tally publishes on, in one registry: `tally.<service>.v1.<entity>.<verb>`,
 * as listed in proto/README.md and each package's events.proto. Code names a subject only through
 * this registry; the event bus adds the deployment prefix on the wire and strips it again before a
 * consumer sees the subject.
 */
export const SUBJECTS = {
  metering: {
    usageRecorded: "tally.metering.v1.usage.recorded",
    meterCreated: "tally.metering.v1.meter.created",
    meterArchived: "tally.metering.v1.meter.archived",
  },
  rating: {
    usageRated: "tally.rating.v1.usage.rated",
    tierCrossed: "tally.rating.v1.tier.crossed",
    subscriptionChanged: "tally.rating.v1.subscription.changed",
    planPublished: "tally.rating.v1.plan.published",
  },
  limits: {
    alertTriggered: "tally.limits.v1.alert.triggered",
    creditsDepleted: "tally.limits.v1.credits.depleted",
    creditsGranted: "tally.limits.v1.credits.granted",
  },
  invoicing: {
    invoiceFinalized: "tally.invoicing.v1.invoice.finalized",
    invoiceVoided: "tally.invoicing.v1.invoice.voided",
    invoicePaid: "tally.invoicing.v1.invoice.paid",
    invoiceMarkedUncollectible: "tally.invoicing.v1.invoice.marked_uncollectible",
    creditNoteIssued: "tally.invoicing.v1.credit_note.issued",
  },
  payments: {
    paymentSucceeded: "tally.payments.v1.payment.succeeded",
    paymentFailed: "tally.payments.v1.payment.failed",
    dunningExhausted: "tally.payments.v1.dunning.exhausted",
    refundSucceeded: "tally.payments.v1.refund.succeeded",
  },
} as const;

/** A service that publishes events: it owns the subjects `tally.<service>.v1.>` and their stream. */
export type EventSource = keyof typeof SUBJECTS;

/** One registered subject. */
export type Subject = { [S in EventSource]: (typeof SUBJECTS)[S][keyof (typeof SUBJECTS)[S]] }[EventSource];

/** Every subject a service publishes on (a consumer's filter when it takes them all, in order). */
export function allSubjectsOf(source: EventSource): string {
  return `tally.${source}.v1.>`;
}

/** Wildcard over one entity's subjects, e.g. `tally.metering.v1.meter.>`. */
export function entitySubjectsOf(source: EventSource, entity: string): string {
  return `tally.${source}.v1.${entity}.>`;
}

/** `EventMeta.source` of an event on `subject`: `tally.rating.v1.usage.rated` → `tally.rating`. */
export function sourceOf(subject: Subject): string {
  return subject.slice(0, subject.indexOf(".v1."));
}
