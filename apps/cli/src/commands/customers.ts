import type { Command } from "commander";
import { toJson } from "@bufbuild/protobuf";
import { limits, rating } from "@tally/contracts";
import { renderFields } from "../format/table";
import type { Session } from "../session";
import { listSubscriptions, renderSubscriptionTable } from "./subscriptions";

/**
 * Tally keeps no customer records of its own (customers are the caller's ids): a customer is
 * their subscriptions in rating and their credits and billing mode in limits.
 */
export function registerCustomerCommands(program: Command, session: Session): void {
  const customers = program.command("customers").description("a customer's subscriptions, credits and billing mode");

  customers
    .command("show <customer>")
    .description("subscriptions and credit balance of a customer")
    .action(async (customerId: string) => {
      const [subscriptions, balance] = await Promise.all([listSubscriptions(session, customerId), session.client("limits").getBalance({ customerId })]);
      const b = balance.balance;
      session.out.value(
        { customerId, subscriptions: subscriptions.map((s) => toJson(rating.SubscriptionSchema, s)), balance: b ? toJson(limits.CreditBalanceSchema, b) : null },
        () =>
          renderFields([
            ["customer", customerId],
            ["credit balance", b?.balance ? `${b.balance.amount} ${b.balance.currency}` : "none"],
            ["available", b?.available ? `${b.available.amount} ${b.available.currency}` : undefined],
            ["prepaid only", b?.prepaidOnly ? "yes" : "no"],
          ]) + renderSubscriptionTable(subscriptions),
      );
    });

  customers
    .command("billing <customer>")
    .description("set whether the customer may only spend prepaid credits")
    .option("--prepaid-only", "deny usage once credits run out")
    .option("--no-prepaid-only", "allow usage beyond credits (invoiced)")
    .action(async (customerId: string, o: { prepaidOnly?: boolean }) => {
      const response = await session.client("limits").setCustomerBilling({ customerId, prepaidOnly: o.prepaidOnly === true });
      session.out.message(limits.SetCustomerBillingResponseSchema, response, () =>
        renderFields([
          ["customer", response.billing?.customerId],
          ["prepaid only", response.billing?.prepaidOnly ? "yes" : "no"],
        ]),
      );
    });
}
