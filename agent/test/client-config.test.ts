/**
 * Where the TypeScript client and the CLI find their agent (client/config.ts): one labelled table of
 * cases, each with its own files, environment and flags — the same cases as the Python client's table
 * (runtimes' python-client-config test), with the CLI's flag names —, the config file reader's table,
 * and what `warmpool dev` writes into a config file (other tables kept line for line, `active` only
 * when no other profile is, 0600, by rename).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, resolveConfig } from "../src/client/config";
import { FileFormatError, parseConfig, upsertProfile, writeProfile } from "../src/client/configfile";
import { tempDir } from "./helpers";

const CONFIG = "$HOME/.warmpool/config.toml";
const DEFAULT = { url: "http://127.0.0.1:8765", urlSource: "the default", profile: null };
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
  flags?: { url?: string; token?: string; profile?: string };
  expect: Record<string, unknown>;
}

const RESOLVE: Record<string, Case> = {
  "nothing anywhere: the default URL and no token": {
    expect: { ...DEFAULT, token: "", tokenSource: `no token found (looked at ${LOOKED})` },
  },
  "./.warmpool/token, where warmpool dev writes it": {
    files: { "$CWD/.warmpool/token": "wp_cwd\n" },
    expect: { ...DEFAULT, token: "wp_cwd", tokenSource: "token from $CWD/.warmpool/token" },
  },
  "$WARMPOOL_STATE_DIR/token before ./.warmpool/token and ~/.warmpool/token": {
    files: { "$ROOT/state/token": "wp_state", "$CWD/.warmpool/token": "wp_cwd", "$HOME/.warmpool/token": "wp_home" },
    env: { WARMPOOL_STATE_DIR: "$ROOT/state" },
    expect: { token: "wp_state", tokenSource: "token from $ROOT/state/token" },
  },
  "~/.warmpool/token last; an empty token file is passed over": {
    files: { "$CWD/.warmpool/token": "\n", "$HOME/.warmpool/token": "wp_home" },
    expect: { token: "wp_home", tokenSource: "token from $HOME/.warmpool/token" },
  },
  "WARMPOOL_URL and WARMPOOL_TOKEN before the state dir's token": {
    files: { "$CWD/.warmpool/token": "wp_cwd" },
    env: { WARMPOOL_URL: "http://10.0.0.1:8765/", WARMPOOL_TOKEN: "wp_env" },
    expect: { url: "http://10.0.0.1:8765", urlSource: "WARMPOOL_URL", token: "wp_env", tokenSource: "token from WARMPOOL_TOKEN", profile: null },
  },
  "empty WARMPOOL_URL and WARMPOOL_TOKEN count as unset": {
    files: { "$CWD/.warmpool/token": "wp_cwd" },
    env: { WARMPOOL_URL: "", WARMPOOL_TOKEN: "" },
    expect: { ...DEFAULT, token: "wp_cwd" },
  },
  "the active profile gives url and token, and the state dir's token is not read": {
    files: { [CONFIG]: PROFILES, "$CWD/.warmpool/token": "wp_cwd" },
    expect: { url: "http://127.0.0.1:9001", urlSource: `profile [dev] of ${CONFIG}`, token: "wp_dev", tokenSource: `token from profile [dev] of ${CONFIG}`, profile: "dev" },
  },
  "a profile without a token does not borrow the state dir's": {
    files: { [CONFIG]: '[dev]\nurl = "http://127.0.0.1:9001"\nactive = true\n', "$CWD/.warmpool/token": "wp_cwd" },
    expect: { token: "", tokenSource: `no token found (looked at WARMPOOL_TOKEN, profile [dev] of ${CONFIG})`, profile: "dev" },
  },
  "WARMPOOL_URL and WARMPOOL_TOKEN before the profile's": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_URL: "http://10.0.0.1:1", WARMPOOL_TOKEN: "wp_env" },
    expect: { url: "http://10.0.0.1:1", urlSource: "WARMPOOL_URL", token: "wp_env", tokenSource: "token from WARMPOOL_TOKEN", profile: "dev" },
  },
  "WARMPOOL_PROFILE picks a profile that is not the active one; token_file is relative to the config file": {
    files: { [CONFIG]: PROFILES, "$HOME/.warmpool/prod.token": "wp_prod\n" },
    env: { WARMPOOL_PROFILE: "prod" },
    expect: { url: "https://agent.example.com/warmpool", token: "wp_prod", tokenSource: `token from $HOME/.warmpool/prod.token (token_file of profile [prod] of ${CONFIG})`, profile: "prod" },
  },
  "--profile before WARMPOOL_PROFILE": {
    files: { [CONFIG]: PROFILES, "$HOME/.warmpool/prod.token": "wp_prod" },
    env: { WARMPOOL_PROFILE: "dev" },
    flags: { profile: "prod" },
    expect: { token: "wp_prod", profile: "prod" },
  },
  "--url and --token before everything": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_URL: "http://10.0.0.1:1", WARMPOOL_TOKEN: "wp_env" },
    flags: { url: "http://10.0.0.2:2", token: "wp_arg" },
    expect: { url: "http://10.0.0.2:2", urlSource: "--url", token: "wp_arg", tokenSource: "token from --token" },
  },
  "token_file with ~ and WARMPOOL_CONFIG naming the file": {
    files: { "$ROOT/etc/wp.toml": '[ci]\nurl = "http://ci:8765"\ntoken_file = "~/tokens/ci"\nactive = true\n', "$HOME/tokens/ci": "wp_ci" },
    env: { WARMPOOL_CONFIG: "$ROOT/etc/wp.toml" },
    expect: { url: "http://ci:8765", urlSource: "profile [ci] of $ROOT/etc/wp.toml", token: "wp_ci", profile: "ci", configFile: "$ROOT/etc/wp.toml" },
  },
  "a token's surrounding white space is not part of it": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\ntoken = "  wp_a \\n"\nactive = true\n' },
    expect: { token: "wp_a" },
  },
  "profiles, none active and none named: as if there were no file": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\n[b]\nurl = "http://b:1"\n', "$CWD/.warmpool/token": "wp_cwd" },
    expect: { ...DEFAULT, token: "wp_cwd" },
  },
  "WARMPOOL_PROFILE naming a profile the file lacks": {
    files: { [CONFIG]: PROFILES },
    env: { WARMPOOL_PROFILE: "staging" },
    expect: { error: `WARMPOOL_PROFILE names profile "staging", which ${CONFIG} does not have; its profiles: dev, prod` },
  },
  "a profile named with no config file": {
    flags: { profile: "prod" },
    expect: { error: `--profile names profile "prod", but there is no config file at ${CONFIG}` },
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
    expect: { error: `token_file of profile [a] of ${CONFIG}: cannot read $HOME/.warmpool/gone: ENOENT` },
  },
  "a profile without a url": {
    files: { [CONFIG]: '[a]\ntoken = "x"\nactive = true\n' },
    expect: { error: `profile [a] of ${CONFIG} has no url (and WARMPOOL_URL is not set)` },
  },
  "a url of another type": {
    files: { [CONFIG]: "[a]\nurl = 8765\nactive = true\n" },
    expect: { error: `url in profile [a] of ${CONFIG} must be a string, not an integer` },
  },
  "a URL that is not http or https": {
    env: { WARMPOOL_URL: "ftp://agent:21" },
    expect: { error: 'the agent URL from WARMPOOL_URL must be http://host[:port] or https://..., got "ftp://agent:21"' },
  },
  "a malformed file is refused with its line": {
    files: { [CONFIG]: '[a]\nurl = "http://a:1"\nurls = ["http://b:1"]\n' },
    expect: { error: `${CONFIG}:3: values are "strings", true/false or integers, got "[\\"http://b:1\\"]"` },
  },
};

/** Runs one case in a fresh root with home/ and cwd/; paths in the outcome are written back as $HOME, $CWD, $ROOT. */
function resolveCase(c: Case): Record<string, unknown> {
  const root = tempDir("config");
  const names: Record<string, string> = { $HOME: path.join(root, "home"), $CWD: path.join(root, "cwd"), $ROOT: root };
  const place = (s: string): string => s.replace(/\$(HOME|CWD|ROOT)/g, (m) => names[m] as string);
  const unplace = (v: unknown): unknown => (typeof v === "string" ? ["$HOME", "$CWD", "$ROOT"].reduce((s, n) => s.split(names[n] as string).join(n), v) : v);
  fs.mkdirSync(names.$HOME as string);
  fs.mkdirSync(names.$CWD as string);
  for (const [file, text] of Object.entries(c.files ?? {})) {
    fs.mkdirSync(path.dirname(place(file)), { recursive: true });
    fs.writeFileSync(place(file), place(text));
  }
  const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, place(v)]));
  try {
    const r = resolveConfig({ ...c.flags, env, home: names.$HOME as string, cwd: names.$CWD as string });
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, unplace(v)]));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { error: unplace(err.message) };
  }
}

test.each(Object.entries(RESOLVE))("%s", (_name, c) => {
  const out = resolveCase(c);
  expect(out).toMatchObject(c.expect);
  if (!("error" in c.expect)) expect(out).not.toHaveProperty("error");
});

const PARSE: Array<[string, string, unknown]> = [
  [
    "comments, escapes, literal strings, booleans and integers",
    '# top\n\n[dev]   # the local agent\nurl = "http://x:1" # trailing\nname = "a \\"q\\" \\\\ \\t \\u00e9"\nraw = \'C:\\path\'\nactive = true\nn = 1_000\n[prod-2]\nactive = false\n',
    { dev: { url: "http://x:1", name: 'a "q" \\ \t é', raw: "C:\\path", active: true, n: 1000 }, "prod-2": { active: false } },
  ],
  ["CRLF line ends", '[a]\r\nurl = "x"\r\n', { a: { url: "x" } }],
  ["a key outside any table", 'url = "x"\n', { error: "config.toml:1: url is outside any [profile] table" }],
  ["a dotted table", "[a.b]\n", { error: "config.toml:1: a table is [name], the name of letters, digits, - and _" }],
  ["a table twice", "[a]\n[a]\n", { error: "config.toml:2: table [a] appears twice" }],
  ["a key twice", '[a]\nurl = "x"\nurl = "y"\n', { error: "config.toml:3: url is set twice in [a]" }],
  ["an unterminated string", '[a]\nurl = "x\n', { error: "config.toml:2: unterminated string" }],
  ["an escape outside the subset", '[a]\nurl = "\\x41"\n', { error: "config.toml:2: unsupported escape \\x in a string" }],
  ["an inline table", "[a]\nx = {y = 1}\n", { error: 'config.toml:2: values are "strings", true/false or integers, got "{y = 1}"' }],
  ["an array", "[a]\nx = [1]\n", { error: 'config.toml:2: values are "strings", true/false or integers, got "[1]"' }],
  ["a multi-line string", '[a]\nx = """a\nb"""\n', { error: "config.toml:2: unexpected text after the value of x" }],
  ["a dotted key", '[a]\nb.c = "x"\n', { error: 'config.toml:2: expected [profile] or key = value, got "b.c = \\"x\\""' }],
  ["text after a value", '[a]\nurl = "x" y\n', { error: "config.toml:2: unexpected text after the value of url" }],
];

test.each(PARSE)("config file: %s", (_name, text, expected) => {
  let out: unknown;
  try {
    out = parseConfig(text, "config.toml");
  } catch (err) {
    if (!(err instanceof FileFormatError)) throw err;
    out = { error: err.message };
  }
  expect(JSON.parse(JSON.stringify(out))).toEqual(expected);
});

const DEV = { url: "http://127.0.0.1:41000", token_file: "/p/.warmpool/token" };

const UPSERT: Array<[string, string, string, { active: boolean; activeOther: string | null }]> = [
  ["an empty file: the profile, active", "", '[dev]\nurl = "http://127.0.0.1:41000"\ntoken_file = "/p/.warmpool/token"\nactive = true\n', { active: true, activeOther: null }],
  [
    "another profile active: added after it, not active, the other untouched",
    "# mine\n[prod]   # the real one\nurl = 'https://x'\ntoken = \"wp_prod\"\nactive = true\n",
    '# mine\n[prod]   # the real one\nurl = \'https://x\'\ntoken = "wp_prod"\nactive = true\n\n[dev]\nurl = "http://127.0.0.1:41000"\ntoken_file = "/p/.warmpool/token"\n',
    { active: false, activeOther: "prod" },
  ],
  [
    "its own table replaced in place (a token it had would conflict), the comment and table after it kept",
    '[a]\nurl = "http://a"\n\n[dev]\nurl = "http://old"\ntoken = "wp_old"\nactive = true\n\n# production\n[prod]\nurl = "https://x"\n',
    '[a]\nurl = "http://a"\n\n[dev]\nurl = "http://127.0.0.1:41000"\ntoken_file = "/p/.warmpool/token"\nactive = true\n\n# production\n[prod]\nurl = "https://x"\n',
    { active: true, activeOther: null },
  ],
];

test.each(UPSERT)("writing a profile: %s", (_name, before, after, how) => {
  const written = upsertProfile(before, "config.toml", "dev", DEV);
  expect(written.text).toBe(after);
  expect(written).toMatchObject(how);
  expect(parseConfig(written.text, "config.toml").dev).toMatchObject({ url: DEV.url, token_file: DEV.token_file });
});

test("a profile's strings are escaped so that both readers read them back", () => {
  const odd = { url: 'http://h:1/a"b\\c', token_file: "/dir with \t tab/é/token" };
  expect(parseConfig(upsertProfile("", "c", "dev", odd).text, "c").dev).toEqual({ ...odd, active: true });
});

test("a file that does not parse is not rewritten", () => {
  expect(() => upsertProfile("[a]\nurl = [1]\n", "config.toml", "dev", DEV)).toThrow("config.toml:2: values are");
});

test("writeProfile makes the directory and writes the file 0600 by rename, following a link", () => {
  const dir = tempDir("profile");
  const real = path.join(dir, "dotfiles", "config.toml");
  fs.mkdirSync(path.dirname(real));
  fs.writeFileSync(real, '[prod]\nurl = "https://x"\n', { mode: 0o644 });
  const link = path.join(dir, "home", ".warmpool", "config.toml");
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(real, link);
  expect(writeProfile(link, "dev", DEV)).toMatchObject({ active: true });
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.statSync(real).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(real, "utf8")).toContain('[prod]\nurl = "https://x"\n\n[dev]\n');
  expect(fs.readdirSync(path.dirname(real))).toEqual(["config.toml"]);

  const fresh = path.join(dir, "new", "sub", "config.toml");
  writeProfile(fresh, "staging", DEV);
  expect(fs.statSync(fresh).mode & 0o777).toBe(0o600);
  expect(fs.statSync(path.dirname(fresh)).mode & 0o777).toBe(0o700);
});
