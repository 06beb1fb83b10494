import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { limits } from "@tally/contracts";
import { renderFields, renderTable } from "../format/table";
import { formatTime, parseFutureTime, parseTime } from "../format/time";
import { enumName, positiveInt } from "../options";
import type { Session } from "../session";
import { allPages } from "./paging";

export function registerCreditCommands(program: Command, session: Session): void {
  const credits = program.command("credits").description("prepaid credit grants, balance and ledger (limits)");

  credits
    .command("grant <customer>")
    .description("grant prepaid credits")
    .requiredOption("--amount <decimal>", "amount of money, e.g. 100")
    .requiredOption("--currency <iso>", "ISO 4217 currency, e.g. USD")
    .option("--credits <decimal>", "credit units granted, when credits are not money")
    .option("--rate <decimal>", "money per credit unit")
    .option("--priority <n>", "lower is spent first", positiveInt(0))
    .option("--effective <time>", "when the grant starts (default now)")
    .option("--expires <time>", "when what is left expires: RFC 3339 or a span from now such as 30d")
    .option("--idempotency-key <key>", "makes a retry return the first grant")
    .option("--description <text>", "for humans")
    .action(async (customerId: string, o: { amount: string; currency: string; credits?: string; rate?: string; priority?: number; effective?: string; expires?: string; idempotencyKey?: string; description?: string }) => {
      const response = await session.client("limits").grantCredits({
        customerId,
        amount: { amount: o.amount, currency: o.currency },
        credits: o.credits ?? "",
        creditRate: o.rate ?? "",
        priority: o.priority ?? 0,
        ...(o.effective ? { effectiveTime: timestampFromDate(parseTime(o.effective, "--effective")) } : {}),
        ...(o.expires ? { expireTime: timestampFromDate(parseFutureTime(o.expires, "--expires")) } : {}),
        idempotencyKey: o.idempotencyKey ?? "",
        description: o.description ?? "",
      });
      session.out.message(limits.GrantCreditsResponseSchema, response, () => renderGrant(response.grant!));
    });

  credits
    .command("void <grant-id>")
    .description("void a grant: what is left of it is no longer spendable")
    .option("--reason <text>", "why")
    .action(async (grantId: string, o: { reason?: string }) => {
      const response = await session.client("limits").voidGrant({ grantId, reason: o.reason ?? "" });
      session.out.message(limits.VoidGrantResponseSchema, response, () => renderGrant(response.grant!));
    });

  credits
    .command("balance <customer>")
    .description("credit balance, per grant")
    .action(async (customerId: string) => {
      const response = await session.client("limits").getBalance({ customerId });
      const b = response.balance!;
      const money = (m?: { amount: string; currency: string }) => (m ? `${m.amount} ${m.currency}` : "");
      session.out.message(limits.GetBalanceResponseSchema, response, () =>
        renderFields([
          ["customer", b.customerId],
          ["balance", money(b.balance)],
          ["reserved", money(b.reserved)],
          ["available", money(b.available)],
          ["prepaid only", b.prepaidOnly ? "yes" : "no"],
          ["depleted", b.depleted ? "yes" : "no"],
        ]) +
          renderTable(
            ["grant", "granted", "remaining", "priority", "status", "expires"],
            b.grants.map((g) => [g.grantId, money(g.granted), money(g.remaining), g.priority, enumName(limits.GrantStatus, g.status), formatTime(g.expireTime)]),
          ),
      );
    });

  credits
    .command("ledger <customer>")
    .description("every grant, burn, expiry and void, with the balance after each")
    .action(async (customerId: string) => {
      const client = session.client("limits");
      const entries = await allPages(async (pageToken) => {
        const page = await client.listLedgerEntries({ customerId, pageToken, pageSize: 1000 });
        return { items: page.entries, nextPageToken: page.nextPageToken };
      });
      session.out.message(limits.ListLedgerEntriesResponseSchema, create(limits.ListLedgerEntriesResponseSchema, { entries }), () =>
        renderTable(
          ["time", "kind", "amount", "balance after", "grant", "source"],
          entries.map((e) => [formatTime(e.createTime), enumName(limits.LedgerEntryKind, e.kind), `${e.amount} ${e.currency}`, e.balanceAfter, e.grantId, e.sourceRef]),
        ),
      );
    });
}

function renderGrant(g: limits.CreditGrant): string {
  return renderFields([
    ["id", g.id],
    ["customer", g.customerId],
    ["amount", g.amount ? `${g.amount.amount} ${g.amount.currency}` : undefined],
    ["credits", g.credits],
    ["rate", g.creditRate],
    ["priority", g.priority],
    ["status", enumName(limits.GrantStatus, g.status)],
    ["effective", formatTime(g.effectiveTime)],
    ["expires", formatTime(g.expireTime)],
    ["description", g.description],
    ["voided", g.voidTime ? `${formatTime(g.voidTime)} ${g.voidReason}` : undefined],
  ]);
}
