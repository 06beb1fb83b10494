import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invoicing, limits, metering, payments, rating } from "@tally/contracts";
import { createServiceClient } from "@tally/platform";
import { SectionUnavailableError } from "../domain/errors";
import type {
  AlertRecord,
  BalanceRecord,
  CurrentUsageRecord,
  DateRange,
  ForecastRecord,
  CreditNoteRecord,
  InvoiceDocumentFile,
  InvoiceRecord,
  InvoiceStatus,
  LedgerRecord,
  LimitRecord,
  MeterRecord,
  PaymentRecord,
  PreviewRecord,
  RevenueForecastRecord,
  SubscriptionRecord,
  UsageRowRecord,
} from "../domain/records";

export interface ServiceAddresses {
  metering: string;
  rating: string;
  limits: string;
  invoicing: string;
  payments: string;
}

/** Pages never list more than this many of anything; a console is not an export tool. */
const PAGE_SIZE = 1000;

/**
 * The services' public APIs as the console needs them, over gRPC with one API key. Every call
 * maps its answer to the console's records here, and every failure to a SectionUnavailableError.
 */
export class TallyServices {
  private readonly clients: { close(): void }[] = [];
  private readonly meter;
  private readonly rater;
  private readonly limiter;
  private readonly invoicer;
  private readonly payer;

  constructor(addresses: ServiceAddresses, apiKey: string) {
    const open = <S extends Parameters<typeof createServiceClient>[0]>(service: S, address: string) => {
      const c = createServiceClient(service, address, apiKey);
      this.clients.push(c);
      return c.client;
    };
    this.meter = open(metering.Meter, addresses.metering);
    this.rater = open(rating.Rating, addresses.rating);
    this.limiter = open(limits.Limits, addresses.limits);
    this.invoicer = open(invoicing.Invoicing, addresses.invoicing);
    this.payer = open(payments.Payments, addresses.payments);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  async listActiveSubscriptions(): Promise<SubscriptionRecord[]> {
    const res = await call("rating", () => this.rater.listSubscriptions({ pageSize: PAGE_SIZE }));
    return res.subscriptions.map(subscription).filter((s) => s.status === "active");
  }

  async activeSubscription(customerId: string): Promise<SubscriptionRecord> {
    const res = await call("rating", () => this.rater.listSubscriptions({ customerId, pageSize: 10 }));
    const active = res.subscriptions.map(subscription).find((s) => s.status === "active");
    if (!active) throw new SectionUnavailableError("not_found", `${customerId} has no active subscription`);
    return active;
  }

  async currentUsage(customerId: string): Promise<CurrentUsageRecord> {
    const res = await call("rating", () => this.rater.getCurrentUsage({ customerId }));
    return {
      subscriptionId: res.subscriptionId,
      period: range(res.period),
      asOf: date(res.asOfTime),
      components: res.components.map((c) => ({
        componentKey: c.componentKey,
        meterKey: c.meterKey,
        dimensionValue: c.dimensionValue,
        planKey: c.planKey,
        planVersion: c.planVersion,
        quantity: c.quantity,
        billableQuantity: c.billableQuantity,
        tierIndex: c.tierIndex,
        tierLowerBound: c.tierLowerBound,
        tierUpperBound: c.tierUpperBound,
        unitsToNextTier: c.unitsToNextTier,
        amount: c.amount?.amount ?? "0",
        currency: c.amount?.currency ?? "",
      })),
    };
  }

  async preview(customerId: string): Promise<PreviewRecord> {
    const res = await call("rating", () => this.rater.previewInvoice({ customerId }));
    const p = res.preview;
    return { currency: p?.currency ?? "", subtotal: p?.subtotal ?? "0", total: p?.total ?? "0" };
  }

  async forecast(customerId: string): Promise<ForecastRecord> {
    const res = await call("rating", () => this.rater.forecast({ customerId }));
    return { currency: res.currency, amountToDate: res.amountToDate, projectedTotal: res.projectedTotal, elapsedFraction: res.elapsedFraction };
  }

  async forecastRevenue(currency: string): Promise<RevenueForecastRecord> {
    const res = await call("rating", () => this.rater.forecastRevenue({ currency }));
    return { currency: res.currency, amountToDate: res.amountToDate, projectedTotal: res.projectedTotal, subscriptionCount: res.subscriptionCount };
  }

  async meterDefinition(key: string): Promise<MeterRecord> {
    const res = await call("metering", () => this.meter.getMeter({ key }));
    return { key, groupBy: res.meter?.groupBy ?? [], description: res.meter?.description ?? "" };
  }

  /** Usage of one meter since `from` (floored to the minute, as QueryUsage requires). */
  async usage(query: { customerId: string; meterKey: string; from: Date; daily: boolean; timeZone: string; groupBy: string[] }): Promise<UsageRowRecord[]> {
    const from = new Date(Math.floor(query.from.getTime() / 60_000) * 60_000);
    const res = await call("metering", () =>
      this.meter.queryUsage({
        customerId: query.customerId,
        meterKey: query.meterKey,
        from: timestampFromDate(from),
        windowSize: query.daily ? metering.WindowSize.DAY : metering.WindowSize.NONE,
        timeZone: query.timeZone,
        groupBy: query.groupBy,
      }),
    );
    return res.rows.map((r) => ({ windowStart: date(r.windowStart), group: { ...r.group }, value: r.value }));
  }

  async balance(customerId: string): Promise<BalanceRecord> {
    const res = await call("limits", () => this.limiter.getBalance({ customerId }));
    const b = res.balance;
    return {
      currency: b?.balance?.currency ?? "",
      balance: b?.balance?.amount ?? "0",
      available: b?.available?.amount ?? b?.balance?.amount ?? "0",
      depleted: b?.depleted ?? false,
      prepaidOnly: b?.prepaidOnly ?? false,
    };
  }

  /** Ledger entries, oldest first. */
  async ledger(customerId: string): Promise<LedgerRecord[]> {
    const res = await call("limits", () => this.limiter.listLedgerEntries({ customerId, pageSize: PAGE_SIZE }));
    const kinds = { [limits.LedgerEntryKind.GRANT]: "grant", [limits.LedgerEntryKind.BURN]: "burn", [limits.LedgerEntryKind.EXPIRY]: "expiry", [limits.LedgerEntryKind.VOID]: "void" } as const;
    return res.entries
      .map((e) => ({ time: date(e.createTime), kind: kinds[e.kind as keyof typeof kinds] ?? "burn", amount: e.amount, balanceAfter: e.balanceAfter }))
      .reverse();
  }

  async limits(customerId: string): Promise<LimitRecord[]> {
    const res = await call("limits", () => this.limiter.getLimits({ scope: { case: "customerId", value: customerId } }));
    return res.limits.map((l) => ({ id: l.id, meterKey: l.meterKey, kind: limitKind(l.kind), measure: measure(l.measure), value: l.value, currency: l.currency }));
  }

  async alerts(customerId: string): Promise<AlertRecord[]> {
    const res = await call("limits", () => this.limiter.listTriggeredAlerts({ customerId, pageSize: 100 }));
    return res.alerts.map((a) => ({
      id: a.id,
      limitId: a.limitId,
      meterKey: a.meterKey,
      measure: measure(a.measure),
      kind: limitKind(a.kind),
      threshold: a.threshold?.threshold.case === "percent" ? `${a.threshold.threshold.value}%` : (a.threshold?.threshold.value ?? ""),
      thresholdValue: a.thresholdValue,
      observedValue: a.observedValue,
      limitValue: a.limitValue,
      currency: a.currency,
      time: date(a.triggerTime),
    }));
  }

  async invoices(customerId = ""): Promise<InvoiceRecord[]> {
    const res = await call("invoicing", () => this.invoicer.listInvoices({ customerId, pageSize: PAGE_SIZE }));
    return res.invoices.map((i) => ({
      id: i.id,
      number: i.number,
      customerId: i.customerId,
      status: invoiceStatus(i.status),
      currency: i.currency,
      period: range(i.period),
      total: i.total,
      amountDue: i.amountDue,
      amountCredited: i.amountCredited || "0",
    }));
  }

  /** An invoice's credit notes, oldest first (ListCreditNotes). */
  async creditNotes(invoiceId: string): Promise<CreditNoteRecord[]> {
    const res = await call("invoicing", () => this.invoicer.listCreditNotes({ invoiceId }));
    return res.creditNotes.map((n) => ({
      id: n.id,
      number: n.number || n.id,
      invoiceId: n.invoiceId,
      amount: n.amount?.amount ?? "0",
      currency: n.amount?.currency ?? "",
      reason: n.reason,
    }));
  }

  /** The credit note's PDF or HTML as invoicing renders it (GetCreditNoteDocument), the same the CLI downloads. */
  async creditNoteDocument(creditNoteId: string, format: "pdf" | "html"): Promise<InvoiceDocumentFile> {
    const documentFormat = format === "html" ? invoicing.DocumentFormat.HTML : invoicing.DocumentFormat.PDF;
    const res = await call("invoicing", () => this.invoicer.getCreditNoteDocument({ creditNoteId, format: documentFormat }));
    return { content: Buffer.from(res.content), contentType: res.contentType, fileName: res.fileName };
  }

  /**
   * The invoice's PDF or HTML as invoicing renders it (GetInvoiceDocument), so the console hands
   * out the very document the CLI downloads.
   */
  async invoiceDocument(invoiceId: string, format: "pdf" | "html"): Promise<InvoiceDocumentFile> {
    const documentFormat = format === "html" ? invoicing.DocumentFormat.HTML : invoicing.DocumentFormat.PDF;
    const res = await call("invoicing", () => this.invoicer.getInvoiceDocument({ invoiceId, format: documentFormat }));
    return { content: Buffer.from(res.content), contentType: res.contentType, fileName: res.fileName };
  }

  async payments(): Promise<PaymentRecord[]> {
    const res = await call("payments", () => this.payer.listPaymentAttempts({ pageSize: PAGE_SIZE }));
    const statuses = {
      [payments.PaymentStatus.PENDING]: "pending",
      [payments.PaymentStatus.SUCCEEDED]: "succeeded",
      [payments.PaymentStatus.FAILED]: "failed",
      [payments.PaymentStatus.CANCELED]: "canceled",
    } as const;
    return res.attempts.map((a) => ({
      id: a.id,
      invoiceId: a.invoiceId,
      customerId: a.customerId,
      currency: a.amount?.currency ?? "",
      amount: a.amount?.amount ?? "0",
      status: statuses[a.status as keyof typeof statuses] ?? "pending",
      failureCode: a.failureCode,
      failureMessage: a.failureMessage,
      time: date(a.updateTime ?? a.createTime),
    }));
  }
}

/** Runs one rpc, turning the gRPC failures a page can live with into SectionUnavailableError. */
async function call<T>(service: string, rpc: () => Promise<T>): Promise<T> {
  try {
    return await rpc();
  } catch (err) {
    const e = ConnectError.from(err);
    if (refused(e)) throw new SectionUnavailableError("unreachable", `${service} unreachable`, { cause: e });
    switch (e.code) {
      case Code.Unimplemented:
        throw new SectionUnavailableError("not_available", `${service} not available`, { cause: e });
      case Code.Unavailable:
      case Code.DeadlineExceeded:
        throw new SectionUnavailableError("unreachable", `${service} unreachable`, { cause: e });
      case Code.NotFound:
        throw new SectionUnavailableError("not_found", e.rawMessage, { cause: e });
      default:
        throw new SectionUnavailableError("failed", `${service}: ${Code[e.code]} ${e.rawMessage}`, { cause: e });
    }
  }
}

const NETWORK_FAILURES = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "ETIMEDOUT"]);

/** connect-node reports a refused first connection as INTERNAL; it is an unreachable service. */
function refused(e: ConnectError): boolean {
  const code = (e.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && NETWORK_FAILURES.has(code);
}

const date = (t: Timestamp | undefined): Date => (t ? timestampDate(t) : new Date(0));
const range = (r: { start?: Timestamp; end?: Timestamp } | undefined): DateRange => ({ start: date(r?.start), end: date(r?.end) });

function subscription(s: rating.Subscription): SubscriptionRecord {
  const status = s.status === rating.SubscriptionStatus.ACTIVE ? "active" : s.status === rating.SubscriptionStatus.PENDING ? "pending" : "canceled";
  return { id: s.id, customerId: s.customerId, planKey: s.planKey, planVersion: s.planVersion, status, timeZone: s.timeZone || "UTC", period: range(s.currentPeriod) };
}

const limitKind = (k: limits.LimitKind): LimitRecord["kind"] => (k === limits.LimitKind.SOFT_LIMIT ? "soft_limit" : "hard_cap");
const measure = (m: limits.LimitMeasure): LimitRecord["measure"] => (m === limits.LimitMeasure.SPEND ? "spend" : "units");

function invoiceStatus(s: invoicing.InvoiceStatus): InvoiceStatus {
  switch (s) {
    case invoicing.InvoiceStatus.PAID:
      return "paid";
    case invoicing.InvoiceStatus.VOID:
      return "void";
    case invoicing.InvoiceStatus.UNCOLLECTIBLE:
      return "uncollectible";
    case invoicing.InvoiceStatus.FINALIZED:
      return "finalized";
    default:
      return "draft";
  }
}
