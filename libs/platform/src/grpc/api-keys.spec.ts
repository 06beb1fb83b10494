import { parseApiKeys } from "./api-keys";

describe("parseApiKeys", () => {
  const keys = parseApiKeys("gateway:sk_gateway_0123456789:ingest,ops:sk_ops_0123456789abc:admin");

  it("authenticates a configured secret and returns its name and scopes", () => {
    const principal = keys.authenticate("sk_gateway_0123456789");
    expect(principal?.keyName).toBe("gateway");
    expect([...principal!.scopes]).toEqual(["ingest"]);
  });

  it("lets admin read", () => {
    expect([...keys.authenticate("sk_ops_0123456789abc")!.scopes].sort()).toEqual(["admin", "read"]);
  });

  it("rejects unknown secrets and near misses", () => {
    expect(keys.authenticate("sk_gateway_012345678")).toBeUndefined();
    expect(keys.authenticate("")).toBeUndefined();
  });

  it.each([
    ["", /required/],
    ["a:b", /entry 1 must be name:secret:scopes/],
    ["a:short:ingest", /at least 16 characters/],
    ["a:0123456789abcdef:write", /unknown scope "write"/],
    ["a:0123456789abcdef:read,a:0123456789abcdefg:read", /entry 2: duplicate key name "a"/],
  ])("rejects %j", (raw, message) => {
    expect(() => parseApiKeys(raw)).toThrow(message);
  });
});
