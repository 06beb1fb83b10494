import { DEFAULT_PORTS } from "@tally/contracts";
import { custom, loadConfig, natsServersField, oneOf, str, type LogLevel } from "@tally/platform";

/**
 * The console's environment, validated at start (every bad variable named at once). It calls the
 * services with one API key; `read` scope is enough — the console never changes anything.
 */
export function loadConsoleSettings(env: Record<string, string | undefined> = process.env) {
  const service = (name: keyof typeof DEFAULT_PORTS) => str(`CONSOLE_${name.toUpperCase()}_ADDRESS`, `127.0.0.1:${DEFAULT_PORTS[name]}`);
  return loadConfig(
    {
      httpAddress: custom("CONSOLE_HTTP_ADDRESS", (raw) => {
        const value = raw ?? "127.0.0.1:8080";
        const match = /^(.+):(\d+)$/.exec(value);
        if (!match || Number(match[2]) > 65535) throw new Error(`must be host:port, got ${JSON.stringify(value)}`);
        return { host: match[1]!, port: Number(match[2]) };
      }),
      apiKey: str("CONSOLE_API_KEY"),
      meteringAddress: service("metering"),
      ratingAddress: service("rating"),
      limitsAddress: service("limits"),
      invoicingAddress: service("invoicing"),
      paymentsAddress: service("payments"),
      natsUrl: natsServersField("NATS_URL", "nats://127.0.0.1:4222"),
      natsPrefix: custom("NATS_PREFIX", (raw) => {
        if (raw && !/^[A-Za-z0-9_-]+$/.test(raw)) throw new Error("may contain only letters, digits, '_' and '-'");
        return raw ?? "";
      }),
      logLevel: oneOf<LogLevel>("LOG_LEVEL", ["debug", "info", "warn", "error", "silent"], "info"),
    },
    env,
  );
}

export type ConsoleSettings = ReturnType<typeof loadConsoleSettings>;
