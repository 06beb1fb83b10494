#!/usr/bin/env node
// `npm start`: runs all five services, the web console (and stripe-local for payments) locally, one
// process each (the way they are deployed), against the local Postgres and NATS. Ctrl-C stops them gracefully.
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");
const fs = require("node:fs");

const SERVICES = ["metering", "rating", "limits", "invoicing", "payments", "console"];
const root = path.resolve(__dirname, "..");

const missing = SERVICES.filter((s) => !fs.existsSync(path.join(root, "apps", s, "dist", "main.js")));
if (missing.length > 0) {
  console.error(`not built: ${missing.join(", ")}. Run: npx nx run-many -t build`);
  process.exit(1);
}

const env = { ...process.env };
if (!env.API_KEYS) {
  env.API_KEYS = "dev:tally_dev_key_change_me:admin+ingest+read";
  console.log("API_KEYS not set: using the local development key 'tally_dev_key_change_me' (all scopes)");
  // Rating copies meter definitions from metering at start (see apps/rating/README.md).
  env.RATING_METERING_ADDRESS ??= env.METERING_GRPC_ADDRESS ?? "127.0.0.1:50051";
  env.RATING_METERING_API_KEY ??= "tally_dev_key_change_me";
  // The console reads every service with it (see apps/console/README.md).
  env.CONSOLE_API_KEY ??= "tally_dev_key_change_me";
  // Invoicing prices closed periods with rating, reads credits from limits and re-derives invoices
  // from metering (see apps/invoicing/README.md); its clock is manual locally (AdvanceClock).
  for (const [upstream, port] of [["RATING", 50052], ["LIMITS", 50053], ["METERING", 50051]]) {
    env[`INVOICING_${upstream}_ADDRESS`] ??= env[`${upstream}_GRPC_ADDRESS`] ?? `127.0.0.1:${port}`;
    env[`INVOICING_${upstream}_API_KEY`] ??= "tally_dev_key_change_me";
  }
  env.INVOICING_CLOCK ??= "manual";
}

// Without STRIPE_API_BASE, payments talks to tools/stripe-local (a Stripe-compatible test server).
const processes = SERVICES.map((service) => ({ service, args: [path.join(root, "apps", service)] }));
if (!env.STRIPE_API_BASE) {
  env.STRIPE_API_BASE = "http://127.0.0.1:12111";
  env.STRIPE_SECRET_KEY ??= "sk_test_local_dev";
  env.STRIPE_WEBHOOK_SECRET ??= "whsec_local_dev";
  env.STRIPE_LOCAL_WEBHOOK_URL ??= `http://${env.PAYMENTS_WEBHOOK_ADDRESS ?? "127.0.0.1:50255"}/stripe/webhooks`;
  const register = path.join(__dirname, "ts-node-register.js");
  processes.unshift({ service: "stripe-local", args: ["--require", register, path.join(__dirname, "stripe-local/src/main.ts")] });
}

const children = processes.map(({ service, args }) => {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = `[${service}]`.padEnd(14);
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream.on("data", (chunk) => {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop();
      for (const line of lines) console.log(prefix, line);
    });
  }
  child.on("exit", (code, signal) => {
    console.log(prefix, `exited (${signal ?? code})`);
    if (!stopping) stopAll(1);
  });
  return child;
});

let stopping = false;
function stopAll(code) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on("exit", r)) : null))).then(() =>
    process.exit(code),
  );
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
