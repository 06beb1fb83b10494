import { ConfigError, int, loadConfig } from "../config/env";
import { loadServiceConfigWithSettings } from "./service-config";

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
