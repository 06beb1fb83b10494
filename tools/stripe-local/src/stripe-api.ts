import type { Form, FormValue } from "./form";
import { newId } from "./ids";
import { matches, parseSearchQuery } from "./search-query";
import { cardError, invalidRequest, missingParam, resourceMissing, type StripeError } from "./stripe-error";
import { TEST_CARDS, type CardOutcome } from "./test-cards";

/** A Stripe API object as JSON. */
export type StripeObject = Record<string, unknown> & { id: string; object: string; created: number };

/** A route's result: the object (200) or a Stripe error thrown. */
export interface ApiContext {
  /** Unix ms (controllable in tests). */
  now: () => number;
  /** Called for each event the API emits, with a snapshot of the object at that moment. */
  emit: (event: StripeObject) => void;
  /** A `decline` fault for this confirmation, if any. */
  forcedDecline?: string;
  idempotencyKey?: string;
}

const MAX_LIMIT = 100;

/**
 * The resources Tally uses, held in memory, answering as Stripe's API does: Customers,
 * PaymentMethods (test tokens), PaymentIntents (create/confirm off-session, retrieve, list,
 * search, cancel), Refunds and Events. Amounts are integers in the currency's minor unit.
 */
export class StripeApi {
  readonly customers = new Map<string, StripeObject>();
  readonly paymentMethods = new Map<string, StripeObject & { test_token: string }>();
  readonly paymentIntents = new Map<string, StripeObject>();
  readonly refunds = new Map<string, StripeObject>();
  readonly events = new Map<string, StripeObject>();

  // Customers --------------------------------------------------------------------------------

  createCustomer(form: Form, ctx: ApiContext): StripeObject {
    const customer: StripeObject = {
      id: newId("cus"),
      object: "customer",
      created: seconds(ctx.now()),
      email: str(form.email) ?? null,
      name: str(form.name) ?? null,
      description: str(form.description) ?? null,
      invoice_settings: { default_payment_method: null },
      livemode: false,
      metadata: metadataOf(form.metadata),
    };
    this.customers.set(customer.id, customer);
    if (form.payment_method) this.attach(str(form.payment_method)!, customer.id, ctx);
    this.updateCustomer(customer.id, { invoice_settings: form.invoice_settings ?? {} } as Form, ctx, false);
    this.event("customer.created", customer, ctx);
    return customer;
  }

  getCustomer(id: string): StripeObject {
    const customer = this.customers.get(id);
    if (!customer) throw resourceMissing("customer", id, "id");
    return customer;
  }

  updateCustomer(id: string, form: Form, ctx: ApiContext, announce = true): StripeObject {
    const customer = this.getCustomer(id);
    const settings = form.invoice_settings as Form | undefined;
    const pm = str(settings?.default_payment_method);
    if (pm !== undefined) {
      const method = this.paymentMethods.get(pm);
      if (!method || method.customer !== id) {
        throw invalidRequest(`No such PaymentMethod: '${pm}'; It's possible this PaymentMethod exists on one of your connected accounts, in which case you should retry this request on that connected account.`, "invoice_settings[default_payment_method]", "resource_missing");
      }
      customer.invoice_settings = { default_payment_method: pm };
    }
    if (form.metadata) customer.metadata = { ...(customer.metadata as object), ...metadataOf(form.metadata) };
    if (announce) this.event("customer.updated", customer, ctx);
    return customer;
  }

  // PaymentMethods ---------------------------------------------------------------------------

  /** Attaching a test token creates a new PaymentMethod on the customer, as Stripe does. */
  attach(token: string, customerId: string, ctx: ApiContext): StripeObject {
    this.getCustomer(customerId);
    const existing = this.paymentMethods.get(token);
    const card = TEST_CARDS[existing?.test_token ?? token];
    if (!card) throw resourceMissing("PaymentMethod", token, "payment_method");
    if (existing?.customer) throw invalidRequest("The payment method you provided has already been attached to a customer.", "payment_method", "payment_method_already_attached");
    const method = {
      id: newId("pm"),
      object: "payment_method",
      created: seconds(ctx.now()),
      type: "card",
      card: { brand: card.brand, last4: card.last4, exp_month: 12, exp_year: 2034, country: "US", funding: "credit" },
      customer: customerId,
      livemode: false,
      metadata: {},
      test_token: existing?.test_token ?? token,
    };
    this.paymentMethods.set(method.id, method);
    this.event("payment_method.attached", method, ctx);
    return method;
  }

  getPaymentMethod(id: string): StripeObject {
    const method = this.paymentMethods.get(id);
    if (method) return method;
    if (TEST_CARDS[id]) return { ...this.attachDetached(id), id };
    throw resourceMissing("payment_method", id, "payment_method");
  }

  private attachDetached(token: string): StripeObject {
    const card = TEST_CARDS[token]!;
    return { id: token, object: "payment_method", created: 0, type: "card", card: { brand: card.brand, last4: card.last4 }, customer: null, livemode: false, metadata: {} };
  }

  // PaymentIntents ---------------------------------------------------------------------------

  createPaymentIntent(form: Form, ctx: ApiContext): StripeObject {
    const amount = positiveInt(form.amount, "amount");
    const currency = str(form.currency);
    if (!currency) throw missingParam("currency");
    if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}.`, "currency", "parameter_invalid_string");
    const customer = str(form.customer);
    if (customer) this.getCustomer(customer);
    const pm = str(form.payment_method);
    if (pm && !this.paymentMethods.has(pm) && !TEST_CARDS[pm]) throw resourceMissing("payment_method", pm, "payment_method");
    const confirm = bool(form.confirm);
    const offSession = bool(form.off_session);
    if (offSession && !confirm) throw invalidRequest("You can only set `off_session` when `confirm` is true.", "off_session", "parameter_invalid_empty");
    const intent: StripeObject = {
      id: newId("pi"),
      object: "payment_intent",
      created: seconds(ctx.now()),
      amount,
      amount_capturable: 0,
      amount_received: 0,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: "automatic",
      confirmation_method: "automatic",
      currency,
      customer: customer ?? null,
      description: str(form.description) ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadataOf(form.metadata),
      next_action: null,
      payment_method: pm ?? null,
      payment_method_types: ["card"],
      status: pm ? "requires_confirmation" : "requires_payment_method",
    };
    intent.client_secret = `${intent.id}_secret_${newId("s").slice(2)}`;
    this.paymentIntents.set(intent.id, intent);
    this.event("payment_intent.created", intent, ctx);
    if (confirm) this.confirm(intent, offSession, ctx);
    return intent;
  }

  getPaymentIntent(id: string): StripeObject {
    const intent = this.paymentIntents.get(id);
    if (!intent) throw resourceMissing("payment_intent", id, "intent");
    return intent;
  }

  cancelPaymentIntent(id: string, form: Form, ctx: ApiContext): StripeObject {
    const intent = this.getPaymentIntent(id);
    if (intent.status === "succeeded" || intent.status === "canceled") {
      throw invalidRequest(`You cannot cancel this PaymentIntent because it has a status of ${String(intent.status)}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`, undefined, "payment_intent_unexpected_state");
    }
    Object.assign(intent, { status: "canceled", canceled_at: seconds(ctx.now()), cancellation_reason: str(form.cancellation_reason) ?? null });
    this.event("payment_intent.canceled", intent, ctx);
    return intent;
  }

  private confirm(intent: StripeObject, offSession: boolean, ctx: ApiContext): void {
    const pmId = intent.payment_method as string | null;
    if (!pmId) throw invalidRequest("You cannot confirm this PaymentIntent because it's missing a payment method.", "payment_method", "payment_intent_unexpected_state");
    const token = this.paymentMethods.get(pmId)?.test_token ?? pmId;
    const outcome: CardOutcome = ctx.forcedDecline
      ? { kind: "decline", code: "card_declined", declineCode: ctx.forcedDecline, message: "Your card was declined." }
      : TEST_CARDS[token]!.outcome;
    if (outcome.kind === "succeed") {
      const charge = newId("ch");
      Object.assign(intent, { status: "succeeded", amount_received: intent.amount, latest_charge: charge, refunded: 0 });
      this.event("charge.succeeded", { id: charge, object: "charge", created: seconds(ctx.now()), amount: intent.amount, payment_intent: intent.id, status: "succeeded" }, ctx);
      this.event("payment_intent.succeeded", intent, ctx);
      return;
    }
    if (outcome.kind === "authenticate" && !offSession) {
      Object.assign(intent, { status: "requires_action", next_action: { type: "use_stripe_sdk", use_stripe_sdk: {} } });
      this.event("payment_intent.requires_action", intent, ctx);
      return;
    }
    // Declined, or authentication needed while the customer is away: the intent goes back to
    // requires_payment_method and the error carries it (https://docs.stripe.com/declines/codes).
    const [code, declineCode, message] =
      outcome.kind === "decline"
        ? [outcome.code, outcome.declineCode, outcome.message]
        : ["authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication."];
    const charge = newId("ch");
    const error = { type: "card_error", code, decline_code: declineCode, message, charge, payment_method: this.getPaymentMethod(pmId) };
    Object.assign(intent, { status: "requires_payment_method", latest_charge: charge, last_payment_error: error });
    this.event("payment_intent.payment_failed", intent, ctx);
    throw this.declined(code, declineCode, message, intent, charge);
  }

  private declined(code: string, declineCode: string, message: string, intent: StripeObject, charge: string): StripeError {
    return cardError(code, declineCode, message, { charge, payment_intent: snapshot(intent), payment_method: this.getPaymentMethod(intent.payment_method as string) });
  }

  listPaymentIntents(query: Form): ListPage {
    const customer = str(query.customer);
    const created = query.created as Form | undefined;
    return this.page(
      [...this.paymentIntents.values()].filter((pi) => (!customer || pi.customer === customer) && inRange(pi.created, created)),
      query,
      "/v1/payment_intents",
    );
  }

  searchPaymentIntents(query: Form): SearchPage {
    return this.search([...this.paymentIntents.values()], query, "/v1/payment_intents/search");
  }

  // Refunds ----------------------------------------------------------------------------------

  createRefund(form: Form, ctx: ApiContext): StripeObject {
    const piId = str(form.payment_intent);
    if (!piId) throw invalidRequest("One of the following params should be provided for this request: payment_intent or charge.", "payment_intent", "parameter_missing");
    const intent = this.getPaymentIntent(piId);
    if (intent.status !== "succeeded") throw invalidRequest(`This PaymentIntent (${piId}) does not have a successful charge to refund.`, "payment_intent", "charge_not_refundable");
    const refunded = Number(intent.refunded ?? 0);
    const remaining = Number(intent.amount_received) - refunded;
    if (remaining <= 0) throw invalidRequest(`Charge ${String(intent.latest_charge)} has already been refunded.`, undefined, "charge_already_refunded");
    const amount = form.amount === undefined ? remaining : positiveInt(form.amount, "amount");
    if (amount > remaining) {
      throw invalidRequest(`Refund amount (${money(amount, intent)}) is greater than unrefunded amount on charge (${money(remaining, intent)})`, "amount", "amount_too_large");
    }
    intent.refunded = refunded + amount;
    const refund: StripeObject = {
      id: newId("re"),
      object: "refund",
      created: seconds(ctx.now()),
      amount,
      charge: intent.latest_charge,
      currency: intent.currency,
      metadata: metadataOf(form.metadata),
      payment_intent: intent.id,
      reason: str(form.reason) ?? null,
      status: "succeeded",
    };
    this.refunds.set(refund.id, refund);
    this.event("refund.created", refund, ctx);
    this.event("charge.refunded", { id: intent.latest_charge as string, object: "charge", created: intent.created, amount: intent.amount, amount_refunded: intent.refunded, payment_intent: intent.id, refunded: intent.refunded === intent.amount_received }, ctx);
    return refund;
  }

  getRefund(id: string): StripeObject {
    const refund = this.refunds.get(id);
    if (!refund) throw resourceMissing("refund", id, "id");
    return refund;
  }

  listRefunds(query: Form): ListPage {
    const pi = str(query.payment_intent);
    const created = query.created as Form | undefined;
    return this.page(
      [...this.refunds.values()].filter((r) => (!pi || r.payment_intent === pi) && inRange(r.created, created)),
      query,
      "/v1/refunds",
    );
  }

  // Events -----------------------------------------------------------------------------------

  getEvent(id: string): StripeObject {
    const event = this.events.get(id);
    if (!event) throw resourceMissing("event", id, "id");
    return event;
  }

  listEvents(query: Form): ListPage {
    const type = str(query.type);
    return this.page([...this.events.values()].filter((e) => !type || e.type === type), query, "/v1/events");
  }

  private event(type: string, object: StripeObject, ctx: ApiContext): void {
    const event: StripeObject = {
      id: newId("evt"),
      object: "event",
      api_version: "2026-10-28.endive",
      created: seconds(ctx.now()),
      data: { object: snapshot(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: ctx.idempotencyKey ?? null },
      type,
    };
    this.events.set(event.id, event);
    ctx.emit(event);
  }

  // Paging -----------------------------------------------------------------------------------

  /** Newest first, `limit` (1–100, default 10), `starting_after` / `ending_before` by id. */
  private page(all: StripeObject[], query: Form, url: string): ListPage {
    const limit = limitOf(query.limit);
    const sorted = [...all].reverse(); // Maps keep insertion order: reversed is newest first.
    let start = 0;
    const after = str(query.starting_after);
    if (after) {
      const i = sorted.findIndex((o) => o.id === after);
      if (i < 0) throw resourceMissing("object", after, "starting_after");
      start = i + 1;
    }
    const data = sorted.slice(start, start + limit).map(publicView);
    return { object: "list", data, has_more: start + limit < sorted.length, url };
  }

  /** Search pages by an opaque `page` cursor (here the offset), `next_page` when more remain. */
  private search(all: StripeObject[], query: Form, url: string): SearchPage {
    const text = str(query.query);
    if (!text) throw missingParam("query");
    const parsed = parseSearchQuery(text);
    const limit = limitOf(query.limit);
    const found = [...all].reverse().filter((o) => matches(parsed, o));
    const offset = query.page ? Number(Buffer.from(str(query.page)!, "base64url").toString()) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw invalidRequest("Invalid page cursor.", "page");
    const next = offset + limit;
    return {
      object: "search_result",
      data: found.slice(offset, next).map(publicView),
      has_more: next < found.length,
      next_page: next < found.length ? Buffer.from(String(next)).toString("base64url") : null,
      url,
    };
  }
}

export interface ListPage {
  object: "list";
  data: StripeObject[];
  has_more: boolean;
  url: string;
}

export interface SearchPage {
  object: "search_result";
  data: StripeObject[];
  has_more: boolean;
  next_page: string | null;
  url: string;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function str(value: FormValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function bool(value: FormValue | undefined): boolean {
  return value === "true";
}

function positiveInt(value: FormValue | undefined, param: string): number {
  const text = str(value);
  if (text === undefined) throw missingParam(param);
  if (!/^\d+$/.test(text) || Number(text) < 1) throw invalidRequest(`Invalid integer: ${text}`, param, "parameter_invalid_integer");
  return Number(text);
}

function limitOf(value: FormValue | undefined): number {
  const text = str(value);
  if (text === undefined) return 10;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw invalidRequest(`Invalid limit: must be between 1 and ${MAX_LIMIT}`, "limit", "parameter_invalid_integer");
  return n;
}

function metadataOf(value: FormValue | undefined): Record<string, string> {
  if (typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string" && v !== "") out[k] = v;
  return out;
}

/** `created[gte]=…` etc. on list endpoints. */
function inRange(created: number, range: Form | undefined): boolean {
  if (!range) return true;
  const bound = (k: string) => (typeof range[k] === "string" ? Number(range[k]) : undefined);
  const [gt, gte, lt, lte] = [bound("gt"), bound("gte"), bound("lt"), bound("lte")];
  return (gt === undefined || created > gt) && (gte === undefined || created >= gte) && (lt === undefined || created < lt) && (lte === undefined || created <= lte);
}

function money(minor: number, intent: StripeObject): string {
  return `${String(intent.currency).toUpperCase()} ${(minor / 100).toFixed(2)}`;
}

/** What clients see: internal bookkeeping fields removed. */
function publicView(object: StripeObject): StripeObject {
  const { test_token: _token, refunded: _refunded, ...rest } = object as StripeObject & { test_token?: unknown; refunded?: unknown };
  return rest as StripeObject;
}

/** A copy frozen at this moment, as an event's `data.object` is. */
function snapshot(object: StripeObject): StripeObject {
  return JSON.parse(JSON.stringify(publicView(object))) as StripeObject;
}

export { publicView };
