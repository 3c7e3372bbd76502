/**
 * Run before every agent test file: the file gets a client config of its own (WARMPOOL_CONFIG, in a
 * fresh temp dir, not there yet). Agents the tests start with the test's environment (`process.env`,
 * as helpers.startProcess does) write their client profile there, not into the user's
 * ~/.warmpool/config.toml nor where another file's agents write; client commands the tests run do not
 * read the user's profiles, nor a WARMPOOL_URL, WARMPOOL_TOKEN or WARMPOOL_PROFILE of the shell that
 * started jest. (A process spawned with no `env` gets the worker's real environment instead, where
 * global-setup.js has put a config file of the whole run.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

process.env.WARMPOOL_CONFIG = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "wp-config-")), "config.toml");
for (const name of ["WARMPOOL_URL", "WARMPOOL_TOKEN", "WARMPOOL_PROFILE"]) delete process.env[name];
