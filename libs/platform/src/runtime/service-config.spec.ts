import { ConfigError, int, loadConfig } from "../config/env";
import { loadServiceConfig, loadServiceConfigWithSettings } from "./service-config";

const ownSettings = (env: Record<string, string | undefined>) => loadConfig({ batch: int("DEMO_BATCH", 10, { min: 1, max: 100 }) }, env);

describe("loadServiceConfigWithSettings", () => {
  it("reports the shared variables' and the service's own problems together", () => {
    let error: unknown;
    try {
      loadServiceConfigWithSettings("metering", [ownSettings], { API_KEYS: "", DEMO_BATCH: "0", LOG_LEVEL: "loud" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toMatch(/LOG_LEVEL/);
    expect(problems).toMatch(/DEMO_BATCH/);
  });

  it("returns the shared config when every loader is satisfied", () => {
    const config = loadServiceConfigWithSettings("metering", [ownSettings], { API_KEYS: "dev:secret_secret_secret:read", DEMO_BATCH: "5" });
    expect(config.grpcAddress).toBe("127.0.0.1:50051");
  });
});

describe("loadServiceConfig: NATS", () => {
  const KEYS = "dev:secret_secret_secret:read";

  it("takes a list of servers and a replica count", () => {
    const config = loadServiceConfig("rating", { API_KEYS: KEYS, NATS_URL: "nats://127.0.0.1:4222, nats://127.0.0.1:4223", NATS_STREAM_REPLICAS: "3" });
    expect(config.natsServers).toEqual(["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]);
    expect(config.natsUrl).toBe("nats://127.0.0.1:4222,nats://127.0.0.1:4223");
    expect(config.natsStreamReplicas).toBe(3);
  });

  it("defaults to one local server and one replica", () => {
    const config = loadServiceConfig("rating", { API_KEYS: KEYS });
    expect([config.natsServers, config.natsStreamReplicas]).toEqual([["nats://127.0.0.1:4222"], 1]);
  });

  it("names a bad server and a bad replica count together", () => {
    expect(() => loadServiceConfig("rating", { API_KEYS: KEYS, NATS_URL: "nats://a:1,http://b:2", NATS_STREAM_REPLICAS: "7" })).toThrow(
      /NATS_URL "http:\/\/b:2" must use nats or tls[\s\S]*NATS_STREAM_REPLICAS must be an integer between 1 and 5/,
    );
  });
});
