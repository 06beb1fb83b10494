import type * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { create, toBinary, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { limits, metering, rating } from "@tally/contracts";
import { rawCall, rawClient, TEST_KEYS } from "@tally/platform/testing";
import { CodeTally } from "./workload";

interface Target {
  service: DescService;
  address: string;
  maxRequestBytes: number;
}

const MIB = 1024 * 1024;

export function targets(addresses: { metering: string; rating: string; limits: string }): Target[] {
  return [
    { service: metering.Meter, address: addresses.metering, maxRequestBytes: 16 * MIB },
    { service: rating.Rating, address: addresses.rating, maxRequestBytes: 4 * MIB },
    { service: limits.Limits, address: addresses.limits, maxRequestBytes: 4 * MIB },
  ];
}

/** Bodies no honest client sends: random, wrong wire types, deep nesting, invalid UTF-8, huge. */
function malformedBodies(input: DescMessage, count: number): Uint8Array[] {
  const bodies: Uint8Array[] = [];
  const deep = (depth: number) => Uint8Array.from([...Array<number>(depth).fill((1 << 3) | WireType.StartGroup), ...Array<number>(depth).fill((1 << 3) | WireType.EndGroup)]);
  const nestedMessages = (depth: number) => {
    let body = new Uint8Array();
    for (let i = 0; i < depth; i++) body = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(body).finish();
    return body;
  };
  for (let i = 0; i < count; i++) {
    const fieldNo = 1 + (i % Math.max(1, input.fields.length + 1));
    switch (i % 8) {
      case 0:
        bodies.push(randomBytes(1 + (i % 200)));
        break;
      case 1: // every wire type on a real field number
        bodies.push(new BinaryWriter().tag(fieldNo, (i >> 3) % 6).raw(randomBytes(8)).finish());
        break;
      case 2:
        bodies.push(deep(50 + (i % 5000)));
        break;
      case 3:
        bodies.push(nestedMessages(10 + (i % 300)));
        break;
      case 4: // invalid UTF-8 in a string field, top level and nested
        bodies.push(new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).bytes(Uint8Array.from([0x6f, 0xff, 0xfe, 0xc3, 0x28])).finish());
        break;
      case 5: // a length running past the end
        bodies.push(Uint8Array.from([(fieldNo << 3) | 2, 0xff, 0xff, 0x03, 0x61]));
        break;
      case 6: // field number 0 and over-long tags
        bodies.push(Uint8Array.from(i % 16 < 8 ? [0x02, 0x00] : [0x88, 0x80, 0x80, 0x80, 0x10, 0x00]));
        break;
      default: // a varint that never ends
        bodies.push(Uint8Array.from([(fieldNo << 3) | 0, ...Array<number>(12).fill(0xff)]));
    }
  }
  return bodies;
}

/** Well-formed messages with values out of any range: times, decimals, huge strings. */
function outOfRangeBodies(): { path: string; body: Uint8Array }[] {
  const far = { seconds: 253_402_300_799n, nanos: 999_999_999 };
  const huge = "9".repeat(200);
  const long = "x".repeat(100_000);
  const message = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) => toBinary(schema, create(schema, init));
  return [
    { path: "/tally.metering.v1.Meter/Record", body: message(metering.RecordRequestSchema, { event: { id: "far", customerId: "c", eventType: "llm.completion", time: far } }) },
    { path: "/tally.metering.v1.Meter/Record", body: message(metering.RecordRequestSchema, { event: { id: long, customerId: long, eventType: "t", properties: { tokens: huge } } }) },
    { path: "/tally.metering.v1.Meter/RecordBatch", body: message(metering.RecordBatchRequestSchema, { events: [{ id: "q", customerId: "c", eventType: "llm.completion", properties: { tokens: "1e999999999" } }] }) },
    { path: "/tally.metering.v1.Meter/QueryUsage", body: message(metering.QueryUsageRequestSchema, { meterKey: "tokens", customerId: "c", from: { seconds: -62_135_596_800n }, to: far }) },
    { path: "/tally.rating.v1.Rating/CreateSubscription", body: message(rating.CreateSubscriptionRequestSchema, { customerId: "c", planKey: "chaos", startTime: far }) },
    { path: "/tally.rating.v1.Rating/CreateSubscription", body: message(rating.CreateSubscriptionRequestSchema, { customerId: "c", planKey: "chaos", startTime: { seconds: 2n ** 62n } }) },
    { path: "/tally.limits.v1.Limits/Check", body: message(limits.CheckRequestSchema, { customerId: "c", meterKey: "tokens", quantity: huge, reserve: true }) },
    { path: "/tally.limits.v1.Limits/Check", body: message(limits.CheckRequestSchema, { customerId: "c", meterKey: "tokens", quantity: "NaN", reservationTtl: { seconds: 2n ** 62n } }) },
    { path: "/tally.limits.v1.Limits/GrantCredits", body: message(limits.GrantCreditsRequestSchema, { customerId: "c", amount: { currency: "USD", amount: `${huge}.${huge}` }, idempotencyKey: "k", effectiveTime: far, expireTime: { seconds: 2n ** 62n } }) },
  ];
}

export interface HostileResult {
  calls: number;
  codes: CodeTally;
  /** Answers that break the contract: INTERNAL, UNKNOWN, or OK to garbage. */
  violations: string[];
}

/** Thousands of malformed and out-of-range requests, sent with a valid key, to every rpc. */
export async function hostileRequests(all: Target[], perMethod: number): Promise<HostileResult> {
  const codes = new CodeTally();
  const violations: string[] = [];
  let calls = 0;
  for (const target of all) {
    const client = rawClient(target.address);
    try {
      const oversized = new Uint8Array(target.maxRequestBytes + 1);
      for (const method of target.service.methods) {
        const path = `/${target.service.typeName}/${method.name}`;
        for (const body of [...malformedBodies(method.input, perMethod), oversized.subarray(0, method === target.service.methods[0] ? oversized.length : 0)]) {
          const res = await rawCall(client, path, body, TEST_KEYS.all);
          const code = res.code as number as Code;
          calls++;
          codes.add(res.code === 0 ? "OK" : code);
          if (code === Code.Internal || code === Code.Unknown) violations.push(`${path}: ${Code[code]} ${res.details}`);
        }
      }
      for (const { path, body } of outOfRangeBodies().filter((b) => b.path.startsWith(`/${target.service.typeName}/`))) {
        const res = await rawCall(client, path, body, TEST_KEYS.all);
        const code = res.code as number as Code;
        calls++;
        codes.add(res.code === 0 ? "OK" : code);
        // RecordBatch answers OK with the bad event REJECTED in its results (the contract).
        const refused = code === Code.InvalidArgument || code === Code.NotFound || code === Code.FailedPrecondition;
        if (!refused && !(path.endsWith("/RecordBatch") && res.code === 0)) {
          violations.push(`${path} out of range: ${res.code === 0 ? "OK" : Code[code]} ${res.details}`);
        }
      }
    } finally {
      client.close();
    }
  }
  return { calls, codes, violations };
}

/** Every rpc with no key, an unknown key and (where the rpc needs more) a key of the wrong scope. */
export async function badCredentials(all: Target[]): Promise<HostileResult> {
  const codes = new CodeTally();
  const violations: string[] = [];
  let calls = 0;
  for (const target of all) {
    const client: grpc.Client = rawClient(target.address);
    try {
      for (const method of target.service.methods) {
        const path = `/${target.service.typeName}/${method.name}`;
        // A key without the rpc's scope must get PERMISSION_DENIED; with it, the garbage body
        // gets INVALID_ARGUMENT. Which of the two depends on the rpc: either is right, never more.
        const attempts: [string | undefined, Code[]][] = [
          [undefined, [Code.Unauthenticated]],
          ["chaos_unknown_key_0123456789", [Code.Unauthenticated]],
          [TEST_KEYS.read, [Code.PermissionDenied, Code.InvalidArgument]],
          [TEST_KEYS.ingest, [Code.PermissionDenied, Code.InvalidArgument]],
        ];
        for (const [key, expected] of attempts) {
          const res = await rawCall(client, path, Uint8Array.from([0x0a, 0x05, 0xff]), key);
          calls++;
          codes.add(res.code === 0 ? "OK" : (res.code as number as Code));
          if (!expected.includes(res.code as number as Code)) violations.push(`${path} with ${key ?? "no key"}: ${res.code === 0 ? "OK" : Code[res.code]} ${res.details}`);
        }
      }
    } finally {
      client.close();
    }
  }
  return { calls, codes, violations };
}
