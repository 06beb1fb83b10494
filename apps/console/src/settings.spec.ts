import { loadConsoleSettings } from "./settings";

test("defaults point at the services' default ports; only the API key is required", () => {
  const s = loadConsoleSettings({ CONSOLE_API_KEY: "k" });
  expect(s).toMatchObject({
    httpAddress: { host: "127.0.0.1", port: 8080 },
    meteringAddress: "127.0.0.1:50051",
    invoicingAddress: "127.0.0.1:50054",
    natsPrefix: "",
  });
});

test("names every bad variable at once", () => {
  expect(() => loadConsoleSettings({ CONSOLE_HTTP_ADDRESS: "nowhere", NATS_PREFIX: "a.b" })).toThrow(/CONSOLE_HTTP_ADDRESS[\s\S]*CONSOLE_API_KEY|CONSOLE_API_KEY[\s\S]*CONSOLE_HTTP_ADDRESS/);
  expect(() => loadConsoleSettings({ CONSOLE_API_KEY: "k", NATS_PREFIX: "a.b" })).toThrow(/NATS_PREFIX/);
});
