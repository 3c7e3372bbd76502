/**
 * The client finds its agent: `warmpool dev` (a real process, on a port picked by the system) leaves
 * its URL in its state dir and its URL and token file in a profile of the config file, both 0600, and
 * client commands run elsewhere, told nothing, reach it (and so does the Python client, which reads the
 * same file); a second agent's profile is not made active,
 * and --profile / WARMPOOL_PROFILE pick it. An agent that is gone, a missing token and a wrong one are
 * errors naming the URL, where the token came from, and what to run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cli } from "./cli-process";
import { FIXTURES, startProcess, tempDir, until, type Running } from "./helpers";
import { runPython } from "./runtimes/python-client";

jest.setTimeout(60_000);

const CONFIG = process.env.WARMPOOL_CONFIG as string; // this file's own (setup-env.ts)

function project(name: string, environment: string): string {
  const dir = tempDir(`profile-${name}`);
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(path.join(dir, "app.yaml"), [`name: ${name}`, `environment: ${environment}`, "functions:", "  square:", '    handler: "handlers:square"', ""].join("\n"));
  return dir;
}

/** The permission bits of a file. */
function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

let devDir: string;
let dev: Running;
let stagingDir: string;
let staging: Running | undefined;
/** A directory with no .warmpool of its own, and an empty home: nothing there names an agent. */
let elsewhere: string;
let home: string;

beforeAll(async () => {
  devDir = project("demo", "dev");
  stagingDir = project("other", "staging");
  elsewhere = tempDir("elsewhere");
  home = tempDir("home");
  dev = await startProcess(devDir);
});

afterAll(async () => {
  for (const agent of [dev, staging]) {
    agent?.child.kill("SIGTERM");
    await agent?.exited;
  }
});

test("warmpool dev writes its URL to its state dir and an active profile, 0600; a client command elsewhere finds the agent", async () => {
  const stateDir = path.join(devDir, ".warmpool");
  expect(fs.readFileSync(path.join(stateDir, "url"), "utf8")).toBe(`${dev.url}\n`);
  expect(mode(path.join(stateDir, "url"))).toBe(0o600);
  expect(fs.readFileSync(CONFIG, "utf8")).toBe(`[dev]\nurl = "${dev.url}"\ntoken_file = "${stateDir}/token"\nactive = true\n`);
  expect(mode(CONFIG)).toBe(0o600);
  await until("the profile line", () => dev.stdout().includes("client profile"));
  expect(dev.stdout()).toContain(`client profile [dev] written to ${CONFIG} (active: client commands use it when nothing else names an agent)`);

  expect(await cli(elsewhere, ["call", "demo/square", "7"], { HOME: home })).toMatchObject({ code: 0, stdout: "49\n" });
});

test("the Python client, told only where the config file is, reaches the agent through the profile warmpool dev wrote", async () => {
  const run = await runPython('from warmpool import Function\nprint(Function.from_name("demo", "square").remote(7))', { env: { WARMPOOL_CONFIG: CONFIG } });
  expect(run).toMatchObject({ code: 0, stdout: "49\n", stderr: "" });
});

test("a second agent's profile is written beside the first, not active; --profile and WARMPOOL_PROFILE pick it", async () => {
  const before = fs.readFileSync(CONFIG, "utf8");
  staging = await startProcess(stagingDir);
  await until("the profile line", () => staging?.stdout().includes("client profile"));
  expect(staging.stdout()).toContain(`client profile [staging] written to ${CONFIG} (not active, [dev] is: use --profile staging or WARMPOOL_PROFILE=staging)`);
  expect(fs.readFileSync(CONFIG, "utf8")).toBe(`${before}\n[staging]\nurl = "${staging.url}"\ntoken_file = "${stagingDir}/.warmpool/token"\n`);

  const env = { HOME: home };
  expect(await cli(elsewhere, ["call", "other/square", "3", "--profile", "staging"], env)).toMatchObject({ code: 0, stdout: "9\n" });
  expect(await cli(elsewhere, ["call", "other/square", "4"], { ...env, WARMPOOL_PROFILE: "staging" })).toMatchObject({ code: 0, stdout: "16\n" });
  // The active profile is dev's agent, which has no app "other".
  const active = await cli(elsewhere, ["call", "other/square", "4"], env);
  expect(active.code).toBe(2);
  expect(active.stderr).toContain('404 WP_ERR_APP_NOT_FOUND: app "other" is not deployed');
  // --url and --token, and WARMPOOL_URL and WARMPOOL_TOKEN, come before the profile.
  const stagingToken = fs.readFileSync(path.join(stagingDir, ".warmpool", "token"), "utf8").trim();
  expect(await cli(elsewhere, ["call", "other/square", "5", "--url", staging.url, "--token", stagingToken], env)).toMatchObject({ code: 0, stdout: "25\n" });
  expect(await cli(elsewhere, ["call", "other/square", "6"], { ...env, WARMPOOL_URL: staging.url, WARMPOOL_TOKEN: stagingToken })).toMatchObject({ code: 0, stdout: "36\n" });
});

test("a profile the file does not have is an error naming the file and its profiles", async () => {
  const r = await cli(elsewhere, ["apps", "--profile", "prod"], { HOME: home });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`error: --profile names profile "prod", which ${CONFIG} does not have; its profiles: dev, staging`);
});

test("an agent that is gone: the URL, where it came from, and what to run", async () => {
  const gone = staging as Running;
  gone.child.kill("SIGTERM");
  await gone.exited;
  const r = await cli(elsewhere, ["call", "other/square", "1", "--profile", "staging"], { HOME: home });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    `error: cannot reach the agent at ${gone.url} (URL from profile [staging] of ${CONFIG}): connection refused\n` +
      `Is its agent running? Start it again with \`warmpool dev <spec.yaml>\` (it rewrites profile [staging] with its URL), or use another profile: \`warmpool apps --profile <name>\` (the profiles are in ${CONFIG}).\n`,
  );
  const env = await cli(elsewhere, ["apps"], { HOME: home, WARMPOOL_URL: gone.url });
  expect(env.stderr).toContain(`cannot reach the agent at ${gone.url} (URL from WARMPOOL_URL): connection refused\nCheck the URL from WARMPOOL_URL, or start the agent there`);
});

test("no token (401) and a wrong one (403): the URL, where the token came from or was looked for, and what to run", async () => {
  const none = await cli(elsewhere, ["apps", "--url", dev.url], { HOME: home, WARMPOOL_CONFIG: path.join(home, "absent.toml") });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain(
    `error: 401 WP_ERR_UNAUTHORIZED: missing bearer token: send 'Authorization: Bearer <token>' (agent ${dev.url}; no token found (looked at WARMPOOL_TOKEN, ${elsewhere}/.warmpool/token, ${home}/.warmpool/token))\n`,
  );
  expect(none.stderr).toContain("pass --token or set WARMPOOL_TOKEN (an agent keeps its token in <state dir>/token), or run `warmpool dev <spec.yaml>`");

  const wrong = await cli(elsewhere, ["apps"], { HOME: home, WARMPOOL_TOKEN: "wp_not_this_one" });
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain(`error: 403 WP_ERR_FORBIDDEN: the bearer token is not valid for this agent (agent ${dev.url}; token from WARMPOOL_TOKEN)\n`);
  expect(wrong.stderr).toContain("The token from WARMPOOL_TOKEN is not this agent's");

  // A profile whose token file now holds another token (its agent started over with a new state dir).
  const config = path.join(home, "stale.toml");
  fs.writeFileSync(path.join(home, "old-token"), "wp_old\n");
  fs.writeFileSync(config, `[dev]\nurl = "${dev.url}"\ntoken_file = "old-token"\nactive = true\n`);
  const stale = await cli(elsewhere, ["apps"], { HOME: home, WARMPOOL_CONFIG: config });
  expect(stale.stderr).toContain(`(agent ${dev.url}; token from ${home}/old-token (token_file of profile [dev] of ${config}))\n`);
  expect(stale.stderr).toContain("The token of profile [dev] is not this agent's: the profile may be out of date (`warmpool dev <spec.yaml>` rewrites it)");
});

test("a config file that does not parse: client commands name its line; warmpool dev still starts, says so and leaves the file alone", async () => {
  const config = path.join(tempDir("bad-config"), "config.toml");
  const text = '[prod]\nurl = "https://x"\nregions = ["a", "b"]\n';
  fs.writeFileSync(config, text);
  const r = await cli(elsewhere, ["apps"], { HOME: home, WARMPOOL_CONFIG: config });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`error: ${config}:3: values are "strings", true/false or integers, got "[\\"a\\", \\"b\\"]"`);

  const dir = project("third", "prod");
  const agent = await startProcess(dir, undefined, { ...process.env, WARMPOOL_CONFIG: config });
  try {
    await until("the warning", () => agent.stderr().includes("not written"));
    expect(agent.stderr()).toContain(`warning: client profile [prod] not written to ${config}: ${config}:3: values are`);
    expect(fs.readFileSync(config, "utf8")).toBe(text);
    expect(fs.readFileSync(path.join(dir, ".warmpool", "url"), "utf8")).toBe(`${agent.url}\n`);
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
  }
});
