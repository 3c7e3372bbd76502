/**
 * Where the Python client finds its agent and token (runtimes/README.md, "Configuration"): one
 * labelled table of cases, each with its own files, environment and arguments, run by real Python
 * with tomllib (3.11+), with tomllib made unimportable (the 3.9/3.10 reader), and on a real 3.9 or
 * 3.10 when one is installed. The config file's reader has its own table.
 */
import fs from "node:fs";
import path from "node:path";
import { oldPython, runPython } from "./python-client";

const DRIVER = fs.readFileSync(path.join(__dirname, "fixtures", "python", "client_config.py"), "utf8");
const CONFIG = "$HOME/.warmpool/config.toml";
const DEFAULT = { url: "http://127.0.0.1:8765", url_source: "the default", profile: null };
const LOOKED = "WARMPOOL_TOKEN, $CWD/.warmpool/token, $HOME/.warmpool/token";
const PROFILES = `# written by hand
[dev]
url = "http://127.0.0.1:9001"
token = "wp_dev"
active = true

[prod]
url = "https://agent.example.com/warmpool/"
token_file = "prod.token"    # next to this file
`;

interface Case {
  files?: Record<string, string>;
  env?: Record<string, string>;
  args?: { url?: string; token?: string; profile?: string };
  expect: Record<string, unknown>;
}

const RESOLVE: Record<string, Case> = {
  "nothing anywhere: the default URL and no token": {
    expect: { ...DEFAULT, token: "", token_source: `no token found (looked at ${LOOKED})` },
  },
  "./.warmpool/token, where warmpool dev writes it": {
    files: { "$CWD/.warmpool/token": "wp_cwd\n" },
    expect: { ...DEFAULT, token: "wp_cwd", token_source: "token from $CWD/.warmpool/token" },
  },
  "$WARMPOOL_STATE_DIR/token before ./.warmpool/token and ~/.warmpool/token": {
    files: { "$ROOT/state/token": "wp_state", "$CWD/.warmpool/token": "wp_cwd", "$HOME/.warmpool/token": "wp_home" },
    env: { WARMPOOL_STATE_DIR: "$ROOT/state" },
    expect: { token: "wp_state", token_source: "token from $ROOT/state/token" },
  },
  "~/.warmpool/token last; an empty token file is passed over": {
    files: { "$CWD/.warmpool/token": "\n", "$HOME/.warmpool/token": "wp_home" },
    expect: { token: "wp_home", token_source: "token from $HOME/.warmpool/token" },
  },
  "WARMPOOL_URL and WARMPOOL_TOKEN before the state dir's token": {
    files: { "$CWD/.warmpool/token": "wp_cwd" },
    env: { WARMPOOL_URL: "http://10.0.0.1:8765/", WARMPOOL_TOKEN: "wp_env" },
    expect: { url: "http://10.0.0.1:8765", url_source: "WARMPOOL_URL", token: "wp_env", token_source: "token from WARMPOOL_TOKEN", profile: null },
  },
  "empty WARMPOOL_URL and WARMPOOL_TOKEN count as unset": {
    files: { "$CWD/.warmpool/token": "wp_cwd" },
    env: { WARMPOOL_URL: "", WARMPOOL_TOKEN: "" },
    expect: { ...DEFAULT, token: "wp_cwd" },
  },
  "the active profile gives url and token, and the state dir's token is not read": {
    files: { [CONFIG]: PROFILES, "$CWD/.warmpool/token": "wp_cwd" },
    expect: { url: "http://127.0.0.1:9001", url_source: `profile [dev] of ${CONFIG}`, token: "wp_dev", token_source: `token from profile [dev] of ${CONFIG}`, profile: "dev" },
  },
  "a profile without a token does not borrow the state dir's": {
    files: { [CONFIG]: '[dev]\nurl = "http://127.0.0.1:9001"\nactive = true\n', "$CWD/.warmpool/token": "wp_cwd" },
    expect: { token: "", token_source: `no token found (looked at WARMPOOL_TOKEN, profile [dev] of ${CONFIG})`, profile: "dev" },
  },
  "WARMPOOL_URL and WARMPOOL_TOKEN before the profile's": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_URL: "http://10.0.0.1:1", WARMPOOL_TOKEN: "wp_env" },
    expect: { url: "http://10.0.0.1:1", url_source: "WARMPOOL_URL", token: "wp_env", token_source: "token from WARMPOOL_TOKEN", profile: "dev" },
  },
  "WARMPOOL_PROFILE picks a profile that is not the active one; token_file is relative to the config file": {
    files: { [CONFIG]: PROFILES, "$HOME/.warmpool/prod.token": "wp_prod\n" },
    env: { WARMPOOL_PROFILE: "prod" },
    expect: { url: "https://agent.example.com/warmpool", token: "wp_prod", token_source: `token from $HOME/.warmpool/prod.token (token_file of profile [prod] of ${CONFIG})`, profile: "prod" },
  },
  "the profile argument (environment_name=) before WARMPOOL_PROFILE": {
    files: { [CONFIG]: PROFILES, "$HOME/.warmpool/prod.token": "wp_prod" },
    env: { WARMPOOL_PROFILE: "dev" },
    args: { profile: "prod" },
    expect: { token: "wp_prod", profile: "prod" },
  },
  "url and token arguments before everything": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_URL: "http://10.0.0.1:1", WARMPOOL_TOKEN: "wp_env" },
    args: { url: "http://10.0.0.2:2", token: "wp_arg" },
    expect: { url: "http://10.0.0.2:2", url_source: "the url argument", token: "wp_arg", token_source: "token from the token argument" },
  },
  "token_file with ~ and WARMPOOL_CONFIG naming the file": {
    files: { "$ROOT/etc/wp.toml": '[ci]\nurl = "http://ci:8765"\ntoken_file = "~/tokens/ci"\nactive = true\n', "$HOME/tokens/ci": "wp_ci" },
    env: { WARMPOOL_CONFIG: "$ROOT/etc/wp.toml" },
    expect: { url: "http://ci:8765", url_source: "profile [ci] of $ROOT/etc/wp.toml", token: "wp_ci", profile: "ci" },
  },
  "profiles, none active and none named: as if there were no file": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\n[b]\nurl = "http://b:1"\n', "$CWD/.warmpool/token": "wp_cwd" },
    expect: { ...DEFAULT, token: "wp_cwd" },
  },
  "WARMPOOL_PROFILE naming a profile the file lacks": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_PROFILE: "staging" },
    expect: { error: `WARMPOOL_PROFILE names profile 'staging', which ${CONFIG} does not have; its profiles: dev, prod` },
  },
  "a profile named with no config file": {
    args: { profile: "prod" },
    expect: { error: `the environment_name argument names profile 'prod', but there is no config file at ${CONFIG}` },
  },
  "two active profiles": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\nactive = true\n[b]\nurl = "http://b:1"\nactive = true\n' },
    expect: { error: `${CONFIG} marks 2 profiles active (a, b); keep active = true on one` },
  },
  "token and token_file both": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\ntoken = "x"\ntoken_file = "y"\nactive = true\n' },
    expect: { error: `profile [a] of ${CONFIG} sets both token and token_file; keep one` },
  },
  "a token_file that is not there": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\ntoken_file = "gone"\nactive = true\n' },
    expect: { error: `token_file of profile [a] of ${CONFIG}: [Errno 2] No such file or directory: '$HOME/.warmpool/gone'` },
  },
  "a profile without a url": {
    files: { [CONFIG]: '[a]\ntoken = "x"\nactive = true\n' },
    expect: { error: `profile [a] of ${CONFIG} has no url (and WARMPOOL_URL is not set)` },
  },
  "a url of another type": {
    files: { [CONFIG]: "[a]\nurl = 8765\nactive = true\n" },
    expect: { error: `url in profile [a] of ${CONFIG} must be a string, not int` },
  },
  "a URL that is not http or https": {
    env: { WARMPOOL_URL: "ftp://agent:21" },
    expect: { error: "the agent URL from WARMPOOL_URL must be http://host[:port] or https://..., got 'ftp://agent:21'" },
  },
  "a malformed file is refused with its line": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\nurls = ["http://b:1"]\n' },
    expect: { error: `${CONFIG}:3: values are "strings", true/false or integers, got '["http://b:1"]'` },
  },
};

const PARSE: Array<[string, string, unknown]> = [
  [
    "comments, escapes, literal strings, booleans and integers",
    '# top\n\n[dev]   # the local agent\nurl = "http://x:1" # trailing\nname = "a \\"q\\" \\\\ \\t \\u00e9"\nraw = \'C:\\path\'\nactive = true\nn = 1_000\n[prod-2]\nactive = false\n',
    { dev: { url: "http://x:1", name: 'a "q" \\ \t é', raw: "C:\\path", active: true, n: 1000 }, "prod-2": { active: false } },
  ],
  ["a key outside any table", 'url = "x"\n', { error: "config.toml:1: url is outside any [profile] table" }],
  ["a dotted table", "[a.b]\n", { error: "config.toml:1: a table is [name], the name of letters, digits, - and _" }],
  ["a table twice", "[a]\n[a]\n", { error: "config.toml:2: table [a] appears twice" }],
  ["a key twice", '[a]\nurl = "x"\nurl = "y"\n', { error: "config.toml:3: url is set twice in [a]" }],
  ["an unterminated string", '[a]\nurl = "x\n', { error: "config.toml:2: unterminated string" }],
  ["an escape outside the subset", '[a]\nurl = "\\x41"\n', { error: "config.toml:2: unsupported escape \\x in a string" }],
  ["an inline table", "[a]\nx = {y = 1}\n", { error: "config.toml:2: values are \"strings\", true/false or integers, got '{y = 1}'" }],
  ["text after a value", '[a]\nurl = "x" y\n', { error: "config.toml:2: unexpected text after the value of url" }],
];

async function drive(python: string, withTomllib = true): Promise<any> {
  const input = JSON.stringify({ resolve: Object.values(RESOLVE).map(({ files, env, args }) => ({ files, env, args })), parse: PARSE.map(([, text]) => text) });
  const run = await runPython(DRIVER, { python, stdin: input, env: withTomllib ? {} : { NO_TOMLLIB: "1" } });
  if (run.code !== 0) throw new Error(`${python}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

const runs: Array<[string, boolean, () => Promise<any>]> = [
  ["python3, with tomllib", true, () => drive("python3")],
  ["python3, tomllib hidden", false, () => drive("python3", false)],
];
const old = oldPython();
if (old !== null) runs.push([`${old} (no tomllib)`, false, () => drive(old)]);
else test.skip("no Python 3.9 or 3.10 on this machine: the reader without tomllib ran on python3 only", () => undefined);

describe.each(runs)("%s", (_label, tomllib, run) => {
  let out: any;

  beforeAll(async () => {
    out = await run();
  }, 30_000);

  test(`reads the file ${tomllib ? "with tomllib" : "with its own reader"}`, () => {
    expect(out.tomllib).toBe(tomllib);
  });

  test.each(Object.keys(RESOLVE).map((name, index) => [name, index] as const))("%s", (name, index) => {
    expect(out.resolve[index]).toMatchObject(RESOLVE[name]!.expect);
    if (!("error" in RESOLVE[name]!.expect)) expect(out.resolve[index]).not.toHaveProperty("error");
  });

  test.each(PARSE.map(([name, , expected], index) => [name, index, expected] as const))("file: %s", (_name, index, expected) => {
    expect(out.parse[index]).toEqual(expected);
  });
});
