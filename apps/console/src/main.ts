import { createLogger } from "@tally/platform";
import { startConsole } from "./console-app";
import { loadConsoleSettings } from "./settings";

async function main(): Promise<void> {
  const settings = loadConsoleSettings();
  const log = createLogger({ service: "console" }, settings.logLevel);
  const running = await startConsole(settings, log);
  log.info("console listening", { url: running.url });
  console.log(`console: open ${running.url}`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
