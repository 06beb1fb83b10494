// Run TypeScript directly with node (benches, scripts): `node --require ./tools/ts-node-register.js x.ts`.
// swc strips types only (no type-check: that is `npm run typecheck`), emits CommonJS with inline
// source maps so stack traces point at the .ts lines. Workspace packages (@tally/*) resolve to
// their sources, as in jest, so nothing needs building first.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const { transformSync } = require("@swc/core");

const root = path.resolve(__dirname, "..");
const LIBS = new Set(["contracts", "pricing", "platform", "plan-pricing"]);

const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveWorkspace(request, ...rest) {
  const match = /^@tally\/([a-z-]+)(?:\/([a-z-]+))?$/.exec(request);
  if (match) {
    const dir = path.join(root, LIBS.has(match[1]) ? "libs" : "apps", match[1], "src");
    return path.join(dir, match[2] ?? "", "index.ts");
  }
  return resolve.call(this, request, ...rest);
};

process.setSourceMapsEnabled(true);
require.extensions[".ts"] = function registerTs(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const { code } = transformSync(source, {
    filename,
    sourceMaps: "inline",
    module: { type: "commonjs" },
    jsc: { target: "es2022", parser: { syntax: "typescript" } },
  });
  module._compile(code, filename);
};
