module.exports = {
  ...require("../../jest.preset.js"),
  rootDir: __dirname,
  displayName: "console",
  // The browser test starts three services, a console and Chromium.
  testTimeout: 120_000,
};
