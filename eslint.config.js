// Lint TypeScript sources with typescript-eslint's recommended rules; generated code is never linted.
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");

const NO_APP_IMPORTS = [
  { regex: "^@tally/(metering|rating|limits|invoicing|payments)(/|$)", message: "Apps and libs never import an app: call it over gRPC or consume its events." },
  { regex: "^(\\.\\./)+(apps/)?(metering|rating|limits|invoicing|payments)/", message: "Apps and libs never import an app: call it over gRPC or consume its events." },
];

module.exports = tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "libs/contracts/src/gen/**", ".nx/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.name='parseFloat']", message: "Money and quantities are Decimal: use parseDecimal from @tally/pricing." },
      ],
    },
  },
  {
    // Module boundaries: an app talks to another app over gRPC and JetStream only, and a lib never
    // depends on an app. Only the cross-service tests in test/ start apps side by side.
    files: ["apps/**/*.ts", "libs/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: NO_APP_IMPORTS,
        },
      ],
    },
  },
  {
    // Proto types stop at rpc/ and adapter/: a service's domain and service layers take domain types.
    files: ["apps/rating/src/domain/**/*.ts", "apps/rating/src/service/**/*.ts"],
    ignores: ["**/*.spec.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: NO_APP_IMPORTS,
          paths: [
            { name: "@tally/contracts", allowImportNames: ["Aggregation"], message: "Proto messages stop at rpc/ and adapter/: map them to domain types there." },
            { name: "@bufbuild/protobuf", message: "Proto messages stop at rpc/ and adapter/: map them to domain types there." },
          ],
        },
      ],
    },
  },
  {
    // Tests and benches drive clients loaded at run time from .proto files (as other teams do), which are untyped.
    files: ["**/*.spec.ts", "**/bench/**/*.ts", "test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable", __dirname: "readonly", process: "readonly", console: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
