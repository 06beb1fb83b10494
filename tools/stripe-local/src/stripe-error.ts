/**
 * Errors in Stripe's shape: `{ error: { type, code?, decline_code?, message, param?, … } }` with
 * Stripe's HTTP statuses (400 invalid request, 401 bad key, 402 card error, 404 missing,
 * 409 idempotent request in flight, 500 api error).
 */
export class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { ...this.body, request_log_url: undefined } };
  }
}

const DOCS = "https://stripe.com/docs/error-codes";

export function invalidRequest(message: string, param?: string, code?: string): StripeError {
  return new StripeError(400, {
    type: "invalid_request_error",
    message,
    ...(param ? { param } : {}),
    ...(code ? { code, doc_url: `${DOCS}/${code.replace(/_/g, "-")}` } : {}),
  });
}

export function missingParam(param: string): StripeError {
  return invalidRequest(`Missing required param: ${param}.`, param, "parameter_missing");
}

export function resourceMissing(kind: string, id: string, param: string): StripeError {
  return new StripeError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    doc_url: `${DOCS}/resource-missing`,
    message: `No such ${kind}: '${id}'`,
    param,
  });
}

export function authenticationError(key: string | undefined): StripeError {
  const shown = key ? `${key.slice(0, 8)}${"*".repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : "";
  return new StripeError(401, {
    type: "invalid_request_error",
    message: key ? `Invalid API Key provided: ${shown}` : "You did not provide an API key.",
  });
}

export function idempotencyMismatch(key: string): StripeError {
  return new StripeError(400, {
    type: "idempotency_error",
    message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}

export function idempotencyInFlight(): StripeError {
  return new StripeError(409, {
    type: "idempotency_error",
    message: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please retry in a moment.",
  });
}

export function apiError(): StripeError {
  return new StripeError(500, { type: "api_error", message: "An unknown error occurred" });
}

export function cardError(code: string, declineCode: string, message: string, extra: Record<string, unknown>): StripeError {
  return new StripeError(402, {
    type: "card_error",
    code,
    decline_code: declineCode,
    doc_url: `${DOCS}/${code.replace(/_/g, "-")}`,
    message,
    ...extra,
  });
}
