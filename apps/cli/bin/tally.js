#!/usr/bin/env node
// `npx tally …`: runs the built CLI, or its TypeScript sources when it has not been built yet
// (right after `npm ci`), so the command works either way.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const built = path.join(__dirname, "..", "dist", "main.js");
if (fs.existsSync(built)) {
  require(built);
} else {
  require(path.join(__dirname, "..", "..", "..", "tools", "ts-node-register.js"));
  require(path.join(__dirname, "..", "src", "main.ts"));
}
