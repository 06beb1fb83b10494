// commander 15 ships ES modules only: let swc turn it into CommonJS for jest (node itself loads it with require(esm)).
const preset = require("../../jest.preset.js");
module.exports = {
  ...preset,
  rootDir: __dirname,
  displayName: "cli",
  transform: { ...preset.transform, "^.+\\.js$": preset.transform["^.+\\.ts$"] },
  transformIgnorePatterns: ["/node_modules/(?!commander/)"],
};
