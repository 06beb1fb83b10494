/**
 * Stripe's test PaymentMethod tokens (https://docs.stripe.com/testing) and what a confirmation
 * with each does. Attaching a token to a customer creates a new `pm_…` with the same behaviour.
 */
export type CardOutcome =
  | { kind: "succeed" }
  | { kind: "decline"; code: string; declineCode: string; message: string }
  | { kind: "authenticate" };

export interface TestCard {
  brand: string;
  last4: string;
  outcome: CardOutcome;
}

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: "visa", last4: "4242", outcome: { kind: "succeed" } },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", outcome: { kind: "succeed" } },
  pm_card_chargeDeclined: {
    brand: "visa",
    last4: "0002",
    outcome: { kind: "decline", code: "card_declined", declineCode: "generic_decline", message: "Your card was declined." },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    outcome: { kind: "decline", code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds." },
  },
  pm_card_authenticationRequired: { brand: "visa", last4: "3184", outcome: { kind: "authenticate" } },
};
