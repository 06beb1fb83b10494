const preset = require("../../jest.preset.js");
const path = require("node:path");

module.exports = {
  ...preset,
  rootDir: __dirname,
  displayName: "console",
  moduleNameMapper: { "^@tally/invoice-documents$": path.join(__dirname, "../../libs/invoice-documents/src/index.ts"), ...preset.moduleNameMapper },
  // The browser test starts three services, a console and Chromium.
  testTimeout: 120_000,
};
