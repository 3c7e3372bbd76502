/**
 * One jest run over every workspace. ts-jest transpiles only (isolatedModules): type errors are the
 * job of `tsc -b`, which `npm test` runs first, and checking @pulumi/aws types per test file is slow.
 */
const transform = { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/../tsconfig.test.json" }] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { displayName: "schema", rootDir: "schema", testMatch: ["<rootDir>/test/**/*.test.ts"], transform, testEnvironment: "node" },
    {
      displayName: "provider",
      rootDir: "provider",
      testMatch: ["<rootDir>/test/**/*.test.ts"],
      transform,
      testEnvironment: "node",
      // Pulumi keeps its mocks and settings in globals that jest 30 would otherwise wipe between files.
      testEnvironmentOptions: { globalsCleanup: "off" },
    },
    { displayName: "agent", rootDir: "agent", testMatch: ["<rootDir>/test/**/*.test.ts"], transform, testEnvironment: "node" },
  ],
};
