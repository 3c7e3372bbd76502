// Run once, in jest's own process, before any worker starts (workers inherit its environment): a
// client config file for the whole run, so that an agent a test starts without passing an environment
// (spawn's default is the worker's real one, not the test's) writes its profile there, never into the
// user's ~/.warmpool/config.toml. setup-env.ts then gives each test file its own.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

module.exports = function globalSetup() {
  process.env.WARMPOOL_CONFIG = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wp-config-run-")), "config.toml");
  for (const name of ["WARMPOOL_URL", "WARMPOOL_TOKEN", "WARMPOOL_PROFILE"]) delete process.env[name];
};
