import { isDatabaseUnavailable } from "./unavailable";

const pgError = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["an admin shutdown (pg_ctl restart)", pgError("57P01", "terminating connection due to administrator command")],
    ["a database still starting", pgError("57P03", "the database system is starting up")],
    ["a connection exception", pgError("08006")],
    ["a statement timeout", pgError("57014")],
    ["a refused connection", pgError("ECONNREFUSED")],
    ["a reset connection", pgError("ECONNRESET")],
    ["a connection cut under a query", new Error("Connection terminated unexpectedly")],
    ["a pool checkout timeout", new Error("timeout exceeded when trying to connect")],
    ["one wrapped as a cause", new Error("flush failed", { cause: pgError("57P01") })],
    ["one inside an AggregateError", new AggregateError([pgError("ECONNREFUSED")])],
  ])("says yes to %s", (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it.each([
    ["a unique violation", pgError("23505")],
    ["a syntax error (a bug)", pgError("42601")],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
    ["a thrown string", "nope"],
  ])("says no to %s", (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false);
  });
});
