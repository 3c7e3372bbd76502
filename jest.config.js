const { execFileSync } = require("node:child_process");

/**
 * The end-to-end suite needs the toolchain (pulumi, the Kubernetes control plane, kwok) that
 * `scripts/toolchain` builds; `.ci/run` always builds it. Without it the suite cannot run, and this
 * says so instead of passing quietly.
 */
function toolchainBuilt() {
  try {
    execFileSync(`${__dirname}/scripts/toolchain`, ["--print-bin"], { stdio: "ignore" });
    return true;
  } catch {
    process.stderr.write("\n*** e2e suite NOT run: the toolchain is not built (run scripts/toolchain; .ci/run does) ***\n\n");
    return false;
  }
}

/**
 * One jest run over every workspace. ts-jest transpiles only (isolatedModules): type errors are the
 * job of `tsc -b` and of `tsc -p agent/tsconfig.tests.json` (the agent's tests), which `npm test` runs
 * first, and checking @pulumi/aws types per test file is slow.
 */
const transform = { "^.+\\.ts$": ["ts-jest", { tsconfig: `${__dirname}/tsconfig.test.json` }] };

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
    // global-setup.js and setup-env.ts: agents started by tests write their client profile to a config file of the run or of the test file, not the user's.
    {
      displayName: "agent",
      rootDir: "agent",
      testMatch: ["<rootDir>/test/**/*.test.ts"],
      globalSetup: "<rootDir>/test/global-setup.js",
      setupFiles: ["<rootDir>/test/setup-env.ts"],
      transform,
      testEnvironment: "node",
    },
    ...(!toolchainBuilt() ? [] : [{ displayName: "e2e", rootDir: "examples/e2e", testMatch: ["<rootDir>/**/*.e2e.test.ts"], transform, testEnvironment: "node", slowTestThreshold: 120 }]),
  ],
};
