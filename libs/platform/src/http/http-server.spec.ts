import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { common, metering } from "@tally/contracts";
import { InvalidArgumentError } from "../errors/errors";
import { parseApiKeys } from "../grpc/api-keys";
import { serviceRegistration, startGrpcServer, type RunningGrpcServer } from "../grpc/server";
import type { ServiceHandlers } from "../grpc/service-definition";
import { createLogger } from "../logging/logger";
import { ServiceMetrics } from "../metrics/service-metrics";
import { createTestClient } from "../testing/grpc-client";
import { TEST_API_KEYS, TEST_KEYS } from "../testing/test-keys";
import { startHttpServer, type RunningHttpServer } from "./http-server";

const notUsed = () => Promise.reject(new Error("not used in this test"));

/** A Meter whose Record answers from the request alone: enough to exercise the transports. */
const handlers: ServiceHandlers<typeof metering.Meter> = {
  record: async ({ event }) => {
    if (!event?.id) throw new InvalidArgumentError({ field: "event.id", message: "is required" });
    return { result: { eventId: event.id, status: metering.EventStatus.ACCEPTED } };
  },
  recordBatch: notUsed,
  createMeter: notUsed,
  getMeter: notUsed,
  listMeters: notUsed,
  archiveMeter: notUsed,
  queryUsage: notUsed,
};

const services = [
  serviceRegistration({
    service: metering.Meter,
    handlers,
    scopes: { record: "ingest", recordBatch: "ingest", createMeter: "admin", getMeter: "read", listMeters: "read", archiveMeter: "admin", queryUsage: "read" },
  }),
];

const MAX_BYTES = 64 * 1024;

describe("HTTP port: Connect, gRPC-Web and /metrics", () => {
  let http: RunningHttpServer;
  let grpcServer: RunningGrpcServer;
  let url: string;

  beforeAll(async () => {
    const common = { services, apiKeys: parseApiKeys(TEST_API_KEYS), logger: createLogger({}, "silent"), maxRequestBytes: MAX_BYTES };
    const metrics = new ServiceMetrics("test");
    http = await startHttpServer({ ...common, address: "127.0.0.1:0", metrics });
    grpcServer = await startGrpcServer({ ...common, address: "127.0.0.1:0", metrics });
    url = `http://${http.address}`;
  });

  afterAll(async () => {
    await Promise.all([http.shutdown(100), grpcServer.shutdown(100)]);
  });

  const record = (body: string, key: string = TEST_KEYS.ingest) =>
    fetch(`${url}/tally.metering.v1.Meter/Record`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body,
    });

  it("answers plain JSON over HTTP/1.1 (what curl sends)", async () => {
    const res = await record(JSON.stringify({ event: { id: "evt_1", customerId: "cus_42", eventType: "llm", properties: { tokens: "12" } } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: { eventId: "evt_1", status: "EVENT_STATUS_ACCEPTED" } });
  });

  it("lets a browser on another origin call (CORS preflight and headers)", async () => {
    const preflight = await fetch(`${url}/tally.metering.v1.Meter/Record`, {
      method: "OPTIONS",
      headers: { origin: "http://console.local", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    const res = await record(JSON.stringify({ event: { customerId: "c" } }));
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-expose-headers")).toContain("tally-error-field");
  });

  it("refuses a bad key before decoding the body", async () => {
    // Neither JSON nor within the size limit: decoding would have said so; the key check comes first.
    const res = await record("x".repeat(2 * MAX_BYTES), "not_a_real_key_0123456789");
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "unauthenticated" });
    const wrongScope = await record("{not json", TEST_KEYS.read);
    expect(wrongScope.status).toBe(403);
    expect(await wrongScope.json()).toMatchObject({ code: "permission_denied" });
  });

  it("answers a bad field with the Connect error carrying the ErrorDetail", async () => {
    const res = await record(JSON.stringify({ event: { customerId: "cus_42" } }));
    expect(res.status).toBe(400);
    expect(res.headers.get("tally-error-field")).toBe("event.id");
    const body = (await res.json()) as { code: string; message: string; details: { type: string; value: string }[] };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toBe("event.id: is required");
    expect(body.details[0]!.type).toBe("tally.common.v1.ErrorDetail");
    const detail = fromBinary(common.ErrorDetailSchema, base64Decode(body.details[0]!.value));
    expect(detail.fieldViolations).toEqual([expect.objectContaining({ field: "event.id", description: "is required" })]);
  });

  it("refuses U+0000 in a JSON string, naming the field", async () => {
    const res = await record(JSON.stringify({ event: { id: "evt_2", customerId: "cus\u000042" } }));
    expect(res.status).toBe(400);
    expect(res.headers.get("tally-error-field")).toBe("event.customer_id");
  });

  const auth = [
    (next: (r: any) => any) => (req: any) => {
      req.header.set("authorization", `Bearer ${TEST_KEYS.ingest}`);
      return next(req);
    },
  ];

  it("serves connect-node clients: binary Connect over HTTP/1.1 and HTTP/2, and gRPC-Web", async () => {
    const connect = createClient(metering.Meter, createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: true, interceptors: auth }));
    expect((await connect.record({ event: { id: "evt_3", customerId: "c" } })).result?.eventId).toBe("evt_3");
    const web = createClient(metering.Meter, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors: auth }));
    expect((await web.record({ event: { id: "evt_4", customerId: "c" } })).result?.eventId).toBe("evt_4");
    const h2 = createClient(metering.Meter, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, interceptors: auth }));
    expect((await h2.record({ event: { id: "evt_5", customerId: "c" } })).result?.eventId).toBe("evt_5");
    const refused = await web.record({ event: { customerId: "c" } }).catch((err: unknown) => ConnectError.from(err));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).findDetails(common.ErrorDetailSchema)[0]?.fieldViolations[0]?.field).toBe("event.id");
  });

  it("counts exactly the traffic it served on /metrics, per protocol and code", async () => {
    const before = await scrape(url);
    for (let i = 0; i < 3; i++) expect((await record(JSON.stringify({ event: { id: `m_${i}`, customerId: "c" } }))).status).toBe(200);
    expect((await record(JSON.stringify({ event: {} }))).status).toBe(400);
    expect((await record("{}", "not_a_real_key_0123456789")).status).toBe(401);
    const grpc = createTestClient(metering.Meter, grpcServer.address, TEST_KEYS.ingest);
    await grpc.client.record({ event: { id: "g_1", customerId: "c" } });
    await grpc.client.record({ event: { id: "g_2", customerId: "c" } });
    await expect(grpc.client.record({ event: {} })).rejects.toThrow(ConnectError);
    grpc.close();
    const after = await scrape(url);
    const moved = (labels: string) => (after.get(`tally_rpc_requests_total{${labels}}`) ?? 0) - (before.get(`tally_rpc_requests_total{${labels}}`) ?? 0);
    const on = (code: string, protocol: string) => `service="tally.metering.v1.Meter",method="Record",code="${code}",protocol="${protocol}",tally_service="test"`;
    expect(moved(on("OK", "connect"))).toBe(3);
    expect(moved(on("INVALID_ARGUMENT", "connect"))).toBe(1);
    expect(moved(on("UNAUTHENTICATED", "connect"))).toBe(1);
    expect(moved(on("OK", "grpc"))).toBe(2);
    expect(moved(on("INVALID_ARGUMENT", "grpc"))).toBe(1);
    const histogram = (protocol: string, series: string) => {
      const sample = (samples: Map<string, number>) =>
        [...samples].find(([key]) => key.startsWith(`tally_rpc_duration_seconds_${series}{`) && key.includes('method="Record"') && key.includes(`protocol="${protocol}"`))?.[1] ?? 0;
      return sample(after) - sample(before);
    };
    expect(histogram("connect", "count")).toBe(5);
    expect(histogram("grpc", "count")).toBe(3);
    expect(histogram("grpc", "sum")).toBeGreaterThan(0);
  });
});

/** `GET /metrics` parsed into `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
