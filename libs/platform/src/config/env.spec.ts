import { ConfigError, int, loadConfig, str, url } from "./env";
import { loadServiceConfig } from "../runtime/service-config";

describe("loadConfig", () => {
  it("reads values and applies defaults", () => {
    const config = loadConfig({ name: str("NAME"), port: int("PORT", 80) }, { NAME: "tally" });
    expect(config).toEqual({ name: "tally", port: 80 });
  });

  it("reports every bad variable by name at once", () => {
    const load = () =>
      loadConfig(
        { name: str("NAME"), port: int("PORT", 80, { min: 1, max: 65535 }), db: url("DB_URL", "x", ["postgres"]) },
        { PORT: "99999", DB_URL: "mysql://h/db" },
      );
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        "NAME is required",
        'PORT must be an integer between 1 and 65535, got "99999"',
        'DB_URL must use postgres, got "mysql:"',
      ]);
    }
  });

  it("requires API_KEYS for a service and prefers the service-specific address", () => {
    expect(() => loadServiceConfig("metering", {})).toThrow(/API_KEYS: is required/);
    const config = loadServiceConfig("rating", {
      API_KEYS: "a:0123456789abcdef:read",
      GRPC_ADDRESS: "0.0.0.0:1",
      RATING_GRPC_ADDRESS: "127.0.0.1:7000",
    });
    expect(config.grpcAddress).toBe("127.0.0.1:7000");
    expect(loadServiceConfig("limits", { API_KEYS: "a:0123456789abcdef:read" }).grpcAddress).toBe("127.0.0.1:50053");
  });
});
