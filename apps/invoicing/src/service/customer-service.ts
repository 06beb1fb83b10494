import { AlreadyExistsError, InvalidArgumentError, withTransaction, type Clock, type Pool } from "@tally/platform";
import * as store from "../adapter/customer-store";
import { validateCustomer, sameProfile, type CustomerInput, type ValidCustomer } from "../domain/customer-validation";
import { CustomerNotFoundError } from "../domain/errors";
import type { Customer } from "../domain/types";
import { decodeCursor, encodeCursor, pageSize } from "./paging";

/** Billing profiles: invoicing is their only owner. */
export class CustomerService {
  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  /** Idempotent: the same profile again returns it; a different one for the same id is ALREADY_EXISTS. */
  async create(input: CustomerInput): Promise<Customer> {
    const valid = validateCustomer(input);
    const now = this.clock.now();
    if (await store.insertCustomer(this.pool, valid, now)) return (await store.getCustomer(this.pool, valid.customerId))!;
    const existing = (await store.getCustomer(this.pool, valid.customerId))!;
    if (!sameProfile(valid, asValid(existing))) {
      throw new AlreadyExistsError(`customer "${valid.customerId}" already has a billing profile with other content (use UpdateCustomer)`, "customer_exists");
    }
    return existing;
  }

  async update(input: CustomerInput): Promise<Customer> {
    const valid = validateCustomer(input);
    return withTransaction(this.pool, async (tx) => {
      const existing = await store.getCustomer(tx, valid.customerId, true);
      if (!existing) throw new CustomerNotFoundError(valid.customerId);
      if (existing.currency !== valid.currency && !existing.balance.isZero()) {
        throw new InvalidArgumentError({ field: "customer.currency", message: `cannot change while the balance is ${existing.balance.toFixed()} ${existing.currency}` });
      }
      await store.updateCustomer(tx, valid, this.clock.now());
      return (await store.getCustomer(tx, valid.customerId))!;
    });
  }

  async get(customerId: string): Promise<Customer> {
    if (!customerId) throw new InvalidArgumentError({ field: "customer_id", message: "is required" });
    const c = await store.getCustomer(this.pool, customerId);
    if (!c) throw new CustomerNotFoundError(customerId);
    return c;
  }

  async list(req: { pageSize: number; pageToken: string }): Promise<{ customers: Customer[]; nextPageToken: string }> {
    const limit = pageSize(req.pageSize);
    const after = decodeCursor(req.pageToken, "page_token", ["after"])?.after ?? "";
    const rows = await store.listCustomers(this.pool, after, limit + 1);
    const page = rows.slice(0, limit);
    return { customers: page, nextPageToken: rows.length > limit ? encodeCursor({ after: page[page.length - 1]!.customerId }) : "" };
  }
}

function asValid(c: Customer): ValidCustomer {
  return {
    customerId: c.customerId,
    legalName: c.legalName,
    email: c.email,
    billingAddress: c.billingAddress,
    currency: c.currency,
    graceMs: c.graceMs,
    netTermsDays: c.netTermsDays,
    taxRates: c.taxRates,
    taxExempt: c.taxExempt,
    invoicePrefix: c.invoicePrefix,
  };
}
