/**
 * Issue 14's live check: `warmpool dev examples/quickstart/app.yaml` as a real process, and a Python
 * process that finds it the documented ways (runtimes/README.md, "Configuration") and runs
 * `Function.from_name("quickstart", "square").remote(7) == 49`.
 */
import fs from "node:fs";
import path from "node:path";
import { startProcess, tempDir, type Running } from "../helpers";
import { runPython, scratchDir } from "./python-client";

jest.setTimeout(60_000);

const QUICKSTART = path.resolve(__dirname, "..", "..", "..", "examples", "quickstart", "app.yaml");
const CHECK = 'from warmpool import Function\nassert Function.from_name("quickstart", "square").remote(7) == 49\nprint("49")';

let dir: string;
let agent: Running;

beforeAll(async () => {
  dir = tempDir("quickstart"); // warmpool dev keeps its state (and token) in ./.warmpool of where it runs
  agent = await startProcess(dir, ["dev", QUICKSTART, "--port", "0", "--log-level", "warn"]);
}, 60_000);

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
});

test("WARMPOOL_URL, and the token from ./.warmpool/token where warmpool dev ran, as the CLI finds it", async () => {
  const run = await runPython(CHECK, { cwd: dir, env: { WARMPOOL_URL: agent.url } });
  expect(run).toMatchObject({ code: 0, stdout: "49\n", stderr: "" });
});

test("a profile of ~/.warmpool/config.toml, as warmpool dev is to write it, from anywhere", async () => {
  const home = scratchDir("livehome");
  fs.mkdirSync(path.join(home, ".warmpool"));
  fs.writeFileSync(path.join(home, ".warmpool", "config.toml"), `[dev]\nurl = "${agent.url}"\ntoken_file = "${path.join(dir, ".warmpool", "token")}"\nactive = true\n`);
  const run = await runPython(CHECK, { cwd: scratchDir("elsewhere"), env: { HOME: home } });
  expect(run).toMatchObject({ code: 0, stdout: "49\n", stderr: "" });
});
