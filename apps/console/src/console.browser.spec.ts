import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { chromium, type Browser, type Page } from "playwright-core";
import { invoicing, limits, metering, rating } from "@tally/contracts";
import { formatMoney } from "@tally/invoice-documents";
import { TEST_KEYS } from "@tally/platform/testing";
import { eventually, startPlatformStack, untilMeterKnown, type PlatformStack } from "../../../test/support/platform-stack";
import { pdfText } from "../../../libs/invoice-documents/src/testing/pdf-text";
import { startConsole, type RunningConsole } from "./console-app";
import { loadConsoleSettings } from "./settings";
import { startFakeUpstream, type FakeUpstream } from "./test-support/fake-invoicing";

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against running
 * metering, rating and limits: the numbers on the pages are the APIs' numbers, recorded usage
 * moves the tier on an open page without a reload, and screenshots land in test-artifacts/.
 */
const ARTIFACTS = path.join(__dirname, "..", "test-artifacts");
const customerId = "cus_console";
const heavy = "cus_heavy";
const DAY = 86_400_000;
const ts = (d: Date) => timestampFromDate(d);
const plain = (s: string) => s.replace(/\u00a0/g, " ");
const run = promisify(execFile);

describe("console in Chromium", () => {
  let stack: PlatformStack;
  let upstream: FakeUpstream;
  let bare: FakeUpstream;
  let consoleApp: RunningConsole;
  let degraded: RunningConsole;
  let browser: Browser;
  let page: Page;
  let eventSeq = 0;
  const start = new Date(Math.floor((Date.now() - 4 * DAY) / 60_000) * 60_000);

  const record = async (tokens: string, model: string, time: Date, customer = customerId) => {
    const res = await stack.meter.record({ event: { id: `evt_${++eventSeq}`, customerId: customer, eventType: "llm.completion", time: ts(time), properties: { model, tokens } } });
    expect(res.result?.status).toBe(metering.EventStatus.ACCEPTED);
  };
  const rated = (quantity: string) =>
    eventually(async () => {
      const { components } = await stack.rater.getCurrentUsage({ customerId });
      expect(components[0]?.quantity).toBe(quantity);
      return components[0]!;
    });
  const textOf = (selector: string) => page.locator(selector).first().innerText().then(plain);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startPlatformStack();
    await stack.meter.createMeter({ meter: { key: "tokens", eventType: "llm.completion", aggregation: metering.Aggregation.SUM, valueProperty: "tokens", groupBy: ["model"] } });
    await untilMeterKnown(() =>
      stack.rater.createPlan({
        plan: {
          key: "pro",
          name: "Pro",
          currency: "USD",
          billingInterval: rating.BillingInterval.MONTH,
          recurringFee: { amount: "20", timing: rating.FeeTiming.IN_ARREARS },
          components: [
            {
              key: "tokens",
              meterKey: "tokens",
              displayName: "Tokens",
              pricing: {
                case: "price",
                value: { model: { case: "graduated", value: { tiers: [{ upTo: "1000", unitAmount: "0.002" }, { upTo: "10000", unitAmount: "0.0015" }, { unitAmount: "0.001" }] } } },
              },
            },
          ],
        },
      }),
    );
    await stack.rater.createSubscription({ customerId, planKey: "pro", startTime: ts(start), anchor: rating.BillingAnchor.ANNIVERSARY });
    await eventually(() =>
      stack.limiter.setLimit({
        limit: {
          scope: { case: "customerId", value: customerId },
          meterKey: "tokens",
          kind: limits.LimitKind.HARD_CAP,
          measure: limits.LimitMeasure.UNITS,
          value: "5000",
          alerts: [{ threshold: { case: "percent", value: "20" } }],
        },
      }),
    );
    await eventually(() => stack.limiter.grantCredits({ customerId, amount: { currency: "USD", amount: "5" }, idempotencyKey: "welcome", description: "Welcome credit" }));

    await record("300", "gpt-4o", new Date(start.getTime() + 3_600_000));
    await record("250", "gpt-4o-mini", new Date(start.getTime() + 2 * DAY));
    await record("200", "gpt-4o", new Date(Date.now() - 60_000));
    await rated("750");

    // A second customer at 90% of a 1,000-unit cap, for the overview's "near caps".
    await stack.rater.createSubscription({ customerId: heavy, planKey: "pro", startTime: ts(start), anchor: rating.BillingAnchor.ANNIVERSARY });
    await eventually(() =>
      stack.limiter.setLimit({
        limit: { scope: { case: "customerId", value: heavy }, meterKey: "tokens", kind: limits.LimitKind.HARD_CAP, measure: limits.LimitMeasure.UNITS, value: "1000" },
      }),
    );
    await record("900", "gpt-4o", new Date(Date.now() - 60_000), heavy);
    await eventually(async () => expect((await stack.rater.getCurrentUsage({ customerId: heavy })).components[0]?.quantity).toBe("900"));

    upstream = await startFakeUpstream([sampleInvoice()]);
    bare = await startFakeUpstream();
    const settings = (invoicingAddress: string) =>
      loadConsoleSettings({
        CONSOLE_HTTP_ADDRESS: "127.0.0.1:0",
        CONSOLE_API_KEY: TEST_KEYS.read, // the console only reads
        CONSOLE_METERING_ADDRESS: stack.metering.address,
        CONSOLE_RATING_ADDRESS: stack.rating.address,
        CONSOLE_LIMITS_ADDRESS: stack.limits.address,
        CONSOLE_INVOICING_ADDRESS: invoicingAddress,
        CONSOLE_PAYMENTS_ADDRESS: bare.address,
        NATS_URL: stack.env.natsUrl,
        NATS_PREFIX: stack.env.natsPrefix,
        LOG_LEVEL: "silent",
      });
    consoleApp = await startConsole(settings(upstream.address));
    degraded = await startConsole(settings(bare.address));
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1360, height: 1100 } });
  });

  afterAll(async () => {
    await browser?.close();
    await consoleApp?.stop();
    await degraded?.stop();
    await upstream?.close();
    await bare?.close();
    await stack?.stop();
  });

  test("customer page shows the APIs' figures", async () => {
    // Limits burns credits from rating's events a hop later: wait for it before comparing.
    const balance = await eventually(async () => {
      const { balance } = await stack.limiter.getBalance({ customerId });
      expect(balance?.balance?.amount).not.toBe("5");
      return balance!;
    });
    await page.goto(`${consoleApp.url}/customers/${customerId}`);
    await page.locator("body[data-loaded=true]").waitFor();

    const { preview } = await stack.rater.previewInvoice({ customerId });
    const forecast = await stack.rater.forecast({ customerId });
    expect(await textOf("[data-field=running-amount]")).toBe(plain(formatMoney(preview!.total, "USD")));
    expect(await textOf("[data-field=projected-total]")).toBe(plain(formatMoney(forecast.projectedTotal, "USD")));
    await eventually(async () => expect(await textOf("[data-field=credit-balance]")).toBe(plain(formatMoney(balance.balance!.amount, "USD"))));

    const row = page.locator('[data-component="tokens"]');
    expect(await row.locator("[data-field=quantity]").innerText()).toBe("750");
    expect(await row.locator("[data-field=tier]").innerText()).toBe("Tier 1");
    expect(await row.locator("[data-field=to-next-tier]").innerText()).toBe("250 to next tier");
    // 750 × 0.002 = 1.50
    expect(await row.locator("[data-field=amount]").innerText()).toBe("$1.50");
    expect(await textOf("[data-field=current-tier]")).toBe("Tier 1");

    const limit = page.locator("[data-limit]").first();
    expect(await limit.locator("[data-field=usage]").innerText()).toBe("750 / 5,000");
    expect(await limit.locator("[data-field=percent]").innerText()).toBe("15%");

    // One series per model in the usage chart, 2 models.
    const datasets = await page.evaluate(() => {
      const browser = globalThis as any; // runs in the page
      const chart = browser.Chart.getChart(browser.document.querySelector("[data-meter=tokens] canvas"));
      return chart.data.datasets.map((d: { label: string; data: number[] }) => [d.label, d.data.reduce((a, b) => a + b, 0)]);
    });
    expect(datasets).toEqual([
      ["gpt-4o", 500],
      ["gpt-4o-mini", 250],
    ]);

    const invoiceRow = page.locator("[data-invoice=inv_1]");
    expect(await invoiceRow.innerText()).toContain("TLY-2026-000001");
    await page.screenshot({ path: path.join(ARTIFACTS, "customer.png"), fullPage: true });
  });

  test("recorded usage moves the tier on the open page, without a reload", async () => {
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    const recordedAt = Date.now();
    let ratedAt = 0;
    const sub = stack.env.bus.connection.subscribe(stack.env.bus.subject("tally.rating.v1.usage.rated"), { callback: () => (ratedAt ||= Date.now()) });
    await record("400", "gpt-4o", new Date());
    await page.locator('[data-component="tokens"] [data-field=tier]', { hasText: "Tier 2" }).waitFor({ timeout: 10_000 });
    const latencyMs = Date.now() - recordedAt;
    sub.unsubscribe();
    const t0 = Date.now();
    await fetch(`${consoleApp.url}/api/customers/${customerId}`);
    console.log(`console live update: tier shown ${latencyMs} ms after Meter.Record returned; usage.rated at ${ratedAt - recordedAt} ms; a page build takes ${Date.now() - t0} ms`);
    expect(latencyMs).toBeLessThan(5_000);
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);

    const usage = await rated("1150");
    expect(usage.tierIndex).toBe(1);
    const row = page.locator('[data-component="tokens"]');
    expect(await row.locator("[data-field=quantity]").innerText()).toBe("1,150");
    // 1000 × 0.002 + 150 × 0.0015 = 2.225 → $2.22 (half to even)
    expect(await row.locator("[data-field=amount]").innerText()).toBe("$2.22");
    const { preview } = await stack.rater.previewInvoice({ customerId });
    await eventually(async () => expect(await textOf("[data-field=running-amount]")).toBe(plain(formatMoney(preview!.total, "USD"))));
    // 1,150 ≥ 20% of 5,000: the alert fires and shows up on the page without a reload.
    await page.locator("#alerts tr", { hasText: "Hard cap on tokens" }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, "customer-after-usage.png"), fullPage: true });
  });

  test("invoice PDF link serves invoicing's invoice rendered", async () => {
    const href = await page.locator("[data-invoice=inv_1] a", { hasText: "PDF" }).getAttribute("href");
    const res = await fetch(`${consoleApp.url}${href}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    const pdf = Buffer.from(await res.arrayBuffer());
    const text = await pdfText(pdf);
    for (const figure of ["TLY-2026-000001", "Tally Billing Ltd", "Tokens", "$22.22", "$12.22", "-$10.00"]) expect(text).toContain(figure);
    // A look at both documents, next to the page screenshots.
    writeFileSync(path.join(ARTIFACTS, "invoice.pdf"), pdf);
    await run("pdftoppm", ["-png", "-r", "70", "-singlefile", path.join(ARTIFACTS, "invoice.pdf"), path.join(ARTIFACTS, "invoice-pdf")]);
    const html = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await html.goto(`${consoleApp.url}/invoices/inv_1.html`);
    expect(plain(await html.locator("tr.due").innerText())).toBe("Amount due\t$12.22");
    await html.screenshot({ path: path.join(ARTIFACTS, "invoice-html.png"), fullPage: true });
    await html.close();
  });

  test("overview shows revenue and forecast from ForecastRevenue, top spenders, and degrades without payments", async () => {
    await page.goto(consoleApp.url);
    await page.locator("[data-field=revenue-to-date]").waitFor();
    const revenue = await stack.rater.forecastRevenue({ currency: "USD" });
    const forecast = await stack.rater.forecast({ customerId });
    expect(await textOf("[data-field=revenue-to-date]")).toBe(plain(formatMoney(revenue.amountToDate, "USD")));
    // The projection moves with the clock; compare with what the API says at about the same instant.
    expect(await textOf("[data-field=revenue-forecast]")).toMatch(/^\$\d/);
    expect(await textOf(`[data-customer=${customerId}] [data-field=spend]`)).toBe(plain(formatMoney(forecast.amountToDate, "USD")));
    expect(await page.locator("#invoices-by-status tbody tr").allInnerTexts()).toEqual(["Finalized\t1\t$22.22"]);
    expect(await textOf(`#near-caps [data-customer=${heavy}] [data-field=percent]`)).toBe("90%");
    expect(await page.locator("#near-caps [data-customer]").count()).toBe(1);
    expect(await textOf("[data-field=customers]")).toBe("2");
    expect(await textOf("#failed-payments")).toBe("payments not available");
    await page.screenshot({ path: path.join(ARTIFACTS, "overview.png"), fullPage: true });
  });

  test("without invoicing the pages say so instead of failing", async () => {
    await page.goto(`${degraded.url}/customers/${customerId}`);
    await page.locator("body[data-loaded=true]").waitFor();
    expect(await textOf("#invoices")).toBe("invoicing not available");
    await page.screenshot({ path: path.join(ARTIFACTS, "customer-without-invoicing.png"), fullPage: true });
    expect(await textOf("[data-field=current-tier]")).toBe("Tier 2");
    const pdf = await fetch(`${degraded.url}/invoices/inv_1.pdf`);
    expect(pdf.status).toBe(503);
    expect(await pdf.text()).toBe("invoicing not available");
  });
});

function sampleInvoice(): invoicing.Invoice {
  const period = { start: ts(new Date("2026-10-01T00:00:00Z")), end: ts(new Date("2026-11-01T00:00:00Z")) };
  return create(invoicing.InvoiceSchema, {
    id: "inv_1",
    number: "TLY-2026-000001",
    customerId,
    status: invoicing.InvoiceStatus.FINALIZED,
    currency: "USD",
    period,
    segments: [{ planKey: "pro", planVersion: 1, range: period, fraction: "1" }],
    lines: [
      { ref: "fee", kind: invoicing.LineKind.RECURRING_FEE, description: "Pro plan", quantity: "1", amount: "20", roundedAmount: "20.00", period },
      { ref: "tok", kind: invoicing.LineKind.USAGE, description: "Tokens", quantity: "1150", amount: "2.225", roundedAmount: "2.22", period },
    ],
    subtotal: "22.225",
    total: "22.22",
    creditsApplied: "10.00",
    amountDue: "12.22",
    finalizeTime: ts(new Date("2026-11-01T01:00:00Z")),
    dueTime: ts(new Date("2026-11-15T01:00:00Z")),
  });
}
