import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { metering } from "@tally/contracts";
import { createLogger } from "../logging/logger";
import { until } from "../testing/eventually";
import { TEST_API_KEYS, TEST_KEYS } from "../testing/test-keys";
import { parseApiKeys } from "./api-keys";
import { serviceRegistration, startGrpcServer, type RunningGrpcServer } from "./server";
import type { ServiceHandlers } from "./service-definition";

const notUsed = () => Promise.reject(new Error("not used in this test"));

/**
 * The client, in its own process (its event loop must keep running while the server's is
 * blocked, as a real caller's does): one long call, then on "go" a burst of calls with a short
 * deadline; reports each call's status.
 */
const CLIENT = `
const grpc = require("@grpc/grpc-js");
process.once("message", ({ address, apiKey, burst, deadlineMs }) => {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", "Bearer " + apiKey);
  const call = (deadline) => new Promise((resolve) =>
    client.makeUnaryRequest("/tally.metering.v1.Meter/Record", (b) => b, (b) => b, Buffer.alloc(0), md, { deadline },
      (err) => resolve(err ? { code: grpc.status[err.code], details: err.details } : { code: "OK", details: "" })));
  const survivor = call(Date.now() + 60000);
  process.once("message", async () => {
    const codes = {};
    await Promise.all(Array.from({ length: burst }, () => call(Date.now() + deadlineMs).then(({ code }) => (codes[code] = (codes[code] || 0) + 1))));
    process.send({ codes });
    process.send({ survivor: await survivor }, () => process.exit(0));
  });
});
`;

/**
 * The `13 INTERNAL: Received RST_STREAM with code 2 triggered by internal client error: Session
 * closed with error code 2` seen against limits under overload. A grpc-js client cancels a call
 * whose deadline passes with an HTTP/2 RST_STREAM(CANCEL). nghttp2's rapid-reset mitigation
 * (CVE-2023-44487) in the server allows a burst of 1,000 received resets per connection, refilled
 * at 33 per second, then ends the connection with GOAWAY(INTERNAL_ERROR) — and the client fails
 * every call still open on it with INTERNAL, calls that did nothing wrong. Node 20 cannot raise
 * that limit (no `streamResetBurst` before Node 22), so the server must not let callers' deadlines
 * pass: admission control refuses at once a call it cannot serve within its deadline. Without it,
 * this burst's expired calls reset the connection and the long call fails INTERNAL (the limits
 * README, "Overload", has the reproduction); how the loop's lag enters the decision is
 * unit-tested with a fake clock in admission.spec.ts.
 */
describe("gRPC server under a burst of calls it cannot answer within their deadlines", () => {
  const DEADLINE_MS = 3_000;
  /** More than nghttp2's burst of 1,000 resets. */
  const BURST = 1_200;

  /** Runs the burst against a server whose Record never answers until released; returns what the client saw. */
  async function burst(admission: Parameters<typeof startGrpcServer>[0]["admission"]) {
    const waiting: (() => void)[] = [];
    const handlers: ServiceHandlers<typeof metering.Meter> = {
      record: () => new Promise((resolve) => waiting.push(() => resolve({}))),
      recordBatch: notUsed,
      createMeter: notUsed,
      getMeter: notUsed,
      listMeters: notUsed,
      archiveMeter: notUsed,
      queryUsage: notUsed,
    };
    const server: RunningGrpcServer = await startGrpcServer({
      address: "127.0.0.1:0",
      services: [
        serviceRegistration({
          service: metering.Meter,
          handlers,
          scopes: { record: "ingest", recordBatch: "ingest", createMeter: "admin", getMeter: "read", listMeters: "read", archiveMeter: "admin", queryUsage: "read" },
        }),
      ],
      apiKeys: parseApiKeys(TEST_API_KEYS),
      logger: createLogger({}, "silent"),
      admission,
    });
    const client: ChildProcess = spawn(process.execPath, ["-e", CLIENT], { cwd: path.resolve(__dirname, "../../../.."), stdio: ["ignore", "inherit", "inherit", "ipc"] });
    try {
      const reports: { codes?: Record<string, number>; survivor?: { code: string; details: string } }[] = [];
      client.on("message", (m: (typeof reports)[number]) => reports.push(m));
      client.send({ address: server.address, apiKey: TEST_KEYS.ingest, burst: BURST, deadlineMs: DEADLINE_MS });
      await until("the long call reached its handler", () => waiting.length === 1, 30_000);
      client.send("go");
      await until("the burst's answers", () => reports.length === 1, 60_000);
      for (const release of waiting.splice(0)) release();
      await until("the long call's answer", () => reports.length === 2, 30_000);
      return { codes: reports[0]!.codes!, survivor: reports[1]!.survivor! };
    } finally {
      client.kill();
      for (const release of waiting.splice(0)) release();
      await server.shutdown(100);
    }
  }

  it("with admission control, calls it cannot serve in time are refused at the door (RESOURCE_EXHAUSTED, counted): the connection survives, never INTERNAL", async () => {
    const shed: string[] = [];
    // Every burst call asks for less than the server needs: refused as soon as its headers are read.
    const { codes, survivor } = await burst({ maxLagMs: Number.POSITIVE_INFINITY, minDeadlineMs: 2 * DEADLINE_MS, onShed: (method) => shed.push(method) });
    expect(survivor).toEqual({ code: "OK", details: "" });
    expect(codes.INTERNAL).toBeUndefined();
    expect(Object.keys(codes).filter((code) => code !== "RESOURCE_EXHAUSTED" && code !== "DEADLINE_EXCEEDED")).toEqual([]);
    expect(codes.RESOURCE_EXHAUSTED).toBeGreaterThan(BURST / 2);
    expect(shed.length).toBeGreaterThanOrEqual(codes.RESOURCE_EXHAUSTED!);
    expect(new Set(shed)).toEqual(new Set(["/tally.metering.v1.Meter/Record"]));
  }, 90_000);
});
