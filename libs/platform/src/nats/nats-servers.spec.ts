import { loadConfig } from "../config/env";
import { natsServersField, parseNatsServers } from "./nats-servers";

describe("parseNatsServers", () => {
  it.each([
    ["nats://127.0.0.1:4222", ["nats://127.0.0.1:4222"]],
    ["nats://127.0.0.1:4222, nats://127.0.0.1:4223,tls://n3.example:4222", ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "tls://n3.example:4222"]],
    ["nats://a:1,", ["nats://a:1"]],
  ])("%s", (raw, servers) => {
    expect(parseNatsServers(raw)).toEqual(servers);
  });

  it.each([
    [",", /lists no server/],
    ["nats://a:1,http://b:2", /"http:\/\/b:2" must use nats or tls/],
    ["nats://a:1,not a url", /"not a url" is not a valid URL/],
    ["nats://a:1,nats://a:1", /twice/],
  ])("refuses %s", (raw, message) => {
    expect(() => parseNatsServers(raw)).toThrow(message);
  });
});

describe("natsServersField", () => {
  it("names the variable and the value in the problem", () => {
    expect(() => loadConfig({ servers: natsServersField("NATS_URL", "nats://127.0.0.1:4222") }, { NATS_URL: "nats://a:1,redis://b" })).toThrow(
      /NATS_URL "redis:\/\/b" must use nats or tls, got "nats:\/\/a:1,redis:\/\/b"/,
    );
  });

  it("falls back when unset", () => {
    expect(loadConfig({ servers: natsServersField("NATS_URL", "nats://127.0.0.1:4222") }, {}).servers).toEqual(["nats://127.0.0.1:4222"]);
  });
});
