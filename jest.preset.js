// Shared jest settings: swc transpiles TypeScript (type-checking is `npm run typecheck`),
// and workspace imports resolve to sources so tests never need a build first.
const path = require("node:path");

const root = __dirname;
const workspaceAliases = {
  "^@tally/platform/(testing|errors)$": path.join(root, "libs/platform/src/$1/index.ts"),
  "^@tally/(contracts|pricing|platform|plan-pricing)$": path.join(root, "libs/$1/src/index.ts"),
  "^@tally/(metering|rating|limits|invoicing|payments)$": path.join(root, "apps/$1/src/index.ts"),
};

module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } } }] },
  moduleNameMapper: workspaceAliases,
  testMatch: ["**/*.spec.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
};
