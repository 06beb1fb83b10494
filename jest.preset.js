// Shared jest settings: swc transpiles TypeScript (type-checking is `npm run typecheck`),
// and workspace imports resolve to sources so tests never need a build first.
const path = require("node:path");

const root = __dirname;
// Any workspace package, lib or app, by name: `@tally/<name>` and its sub-entries `@tally/<name>/<entry>`.
const workspaceAliases = {
  "^@tally/([a-z-]+)/([a-z-]+)$": [path.join(root, "libs/$1/src/$2/index.ts"), path.join(root, "apps/$1/src/$2/index.ts")],
  "^@tally/([a-z-]+)$": [path.join(root, "libs/$1/src/index.ts"), path.join(root, "apps/$1/src/index.ts")],
};

module.exports = {
  testEnvironment: "node",
  // Tests wait on conditions, never on time; this bound only stops a hung test. The machine is small
  // and shared (2 cores, parallel projects), so a Postgres-backed test may take seconds when busy.
  testTimeout: 30_000,
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } } }] },
  moduleNameMapper: workspaceAliases,
  testMatch: ["**/*.spec.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
};
