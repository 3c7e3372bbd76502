/**
 * Where a client finds its agent and token: the same rules as the Python client's
 * (`warmpool/client/config.py`), so that both reach the same agent from the same place.
 *
 * Each of the URL and the token is taken from the first of these that has one:
 *
 * 1. the option (`--url`, `--token`; `new WarmpoolClient({url, token})`);
 * 2. the environment: `WARMPOOL_URL`, `WARMPOOL_TOKEN` (set but empty counts as unset);
 * 3. the profile in use, a table of the config file (`$WARMPOOL_CONFIG`, else `~/.warmpool/config.toml`):
 *    the one named by `--profile`, else by `WARMPOOL_PROFILE`, else the table with `active = true`; it
 *    gives `url`, and `token` or `token_file` (`~/` is home; relative to the config file's directory);
 * 4. with no profile in use: the token in the first non-empty one of `$WARMPOOL_STATE_DIR/token`,
 *    `./.warmpool/token` and `~/.warmpool/token` (where an agent keeps it), and the URL
 *    `http://127.0.0.1:8765`. With a profile in use these are not read: a profile's agent has its own
 *    token, and a local dev token must not travel to it.
 *
 * `resolveConfig` reads files and nothing else: the environment, home and working directory are
 * arguments, so a test gives each case its own.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AGENT_ENV, CLIENT_ENV } from "@warmpool/schema";
import { FileFormatError, parseConfig, type Tables, type Value } from "./configfile";

export const DEFAULT_URL = "http://127.0.0.1:8765";

/** What the client reads from the environment: CLIENT_ENV's names, and the agent's state dir (for its token). */
export const CONFIG_ENV = { ...CLIENT_ENV, stateDir: AGENT_ENV.stateDir } as const;

/** The configuration is unusable (a profile that is not there, a malformed file, a bad URL); says where. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface Resolved {
  url: string;
  /** `""` when none was found: requests go without `Authorization`, and the agent answers 401. */
  token: string;
  /** Where the URL came from: "--url", "WARMPOOL_URL", "profile [dev] of <file>", "the default". */
  urlSource: string;
  /** "token from <where>", or "no token found (looked at <where>)": auth errors quote it. */
  tokenSource: string;
  /** The profile in use, or null. */
  profile: string | null;
  /** The config file that was (or would have been) read. */
  configFile: string;
}

export interface ResolveInput {
  url?: string | undefined;
  token?: string | undefined;
  profile?: string | undefined;
  /** What the explicit options are called in messages. @default the CLI's flags */
  names?: { url: string; token: string; profile: string };
  env?: NodeJS.ProcessEnv;
  home?: string;
  cwd?: string;
}

const FLAGS = { url: "--url", token: "--token", profile: "--profile" };

export function configPath(env: NodeJS.ProcessEnv, home: string): string {
  return nonEmpty(env[CONFIG_ENV.config]) ?? path.join(home, ".warmpool", "config.toml");
}

export function resolveConfig(input: ResolveInput = {}): Resolved {
  const env = input.env ?? process.env;
  const home = input.home ?? os.homedir();
  const cwd = input.cwd ?? process.cwd();
  const names = input.names ?? FLAGS;
  const file = configPath(env, home);
  const { name, table } = profileInUse(file, nonEmpty(input.profile), names.profile, env);
  const where = name === null ? "" : `profile [${name}] of ${file}`;

  const url = first([nonEmpty(input.url), names.url], [nonEmpty(env[CONFIG_ENV.url]), CONFIG_ENV.url], [string(table, "url", where), where], [name === null ? DEFAULT_URL : undefined, "the default"]);
  if (url === null) throw new ConfigError(`${where} has no url (and ${CONFIG_ENV.url} is not set)`);

  let token: [string, string] | null;
  if (nonEmpty(input.token) !== undefined) token = [input.token as string, names.token];
  else if (nonEmpty(env[CONFIG_ENV.token]) !== undefined) token = [env[CONFIG_ENV.token] as string, CONFIG_ENV.token];
  else if (name !== null) token = profileToken(table, file, where, home);
  else token = first(...stateTokens(env, home, cwd));
  const looked = name !== null ? where : stateTokenFiles(env, home, cwd).join(", ");
  return {
    url: normalUrl(url[0], url[1]),
    token: token?.[0] ?? "",
    urlSource: url[1],
    tokenSource: token === null ? `no token found (looked at ${CONFIG_ENV.token}, ${looked})` : `token from ${token[1]}`,
    profile: name,
    configFile: file,
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

function first(...candidates: Array<[string | undefined, string]>): [string, string] | null {
  for (const [value, source] of candidates) if (value !== undefined && value !== "") return [value, source];
  return null;
}

/** The profile in use and its table; name null (and an empty table) when none is. */
function profileInUse(file: string, wanted: string | undefined, flag: string, env: NodeJS.ProcessEnv): { name: string | null; table: Record<string, Value> } {
  const namedBy = wanted !== undefined ? flag : CONFIG_ENV.profile;
  const want = wanted ?? nonEmpty(env[CONFIG_ENV.profile]);
  const tables = read(file);
  if (want !== undefined) {
    if (tables === null) throw new ConfigError(`${namedBy} names profile ${JSON.stringify(want)}, but there is no config file at ${file}`);
    const table = tables[want];
    if (table === undefined) throw new ConfigError(`${namedBy} names profile ${JSON.stringify(want)}, which ${file} does not have; its profiles: ${Object.keys(tables).sort().join(", ") || "(none)"}`);
    return { name: want, table };
  }
  const active = Object.keys(tables ?? {})
    .filter((n) => tables?.[n]?.active === true)
    .sort();
  if (active.length > 1) throw new ConfigError(`${file} marks ${active.length} profiles active (${active.join(", ")}); keep active = true on one`);
  const name = active[0];
  return name === undefined ? { name: null, table: {} } : { name, table: tables?.[name] ?? {} };
}

function read(file: string): Tables | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return parseConfig(text, file);
  } catch (err) {
    if (err instanceof FileFormatError) throw new ConfigError(err.message);
    throw err;
  }
}

function string(table: Record<string, Value>, key: string, where: string): string | undefined {
  const value = table[key];
  if (value !== undefined && typeof value !== "string") throw new ConfigError(`${key} in ${where} must be a string, not ${typeof value === "number" ? "an integer" : "a boolean"}`);
  return value;
}

function profileToken(table: Record<string, Value>, file: string, where: string, home: string): [string, string] | null {
  const token = nonEmpty(string(table, "token", where)?.trim());
  const tokenFile = nonEmpty(string(table, "token_file", where)?.trim());
  if (token !== undefined && tokenFile !== undefined) throw new ConfigError(`${where} sets both token and token_file; keep one`);
  if (tokenFile === undefined) return token === undefined ? null : [token, where];
  // ~ is the home the rest of the lookup uses; a relative path is relative to the config file.
  const expanded = tokenFile === "~" || tokenFile.startsWith("~/") ? home + tokenFile.slice(1) : tokenFile;
  const full = path.resolve(path.dirname(file), expanded);
  let value: string;
  try {
    value = fs.readFileSync(full, "utf8").trim();
  } catch (err) {
    throw new ConfigError(`token_file of ${where}: cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (value === "") throw new ConfigError(`token_file of ${where}: ${full} is empty`);
  return [value, `${full} (token_file of ${where})`];
}

function stateTokenFiles(env: NodeJS.ProcessEnv, home: string, cwd: string): string[] {
  const dirs = [nonEmpty(env[CONFIG_ENV.stateDir]), path.join(cwd, ".warmpool"), path.join(home, ".warmpool")];
  return dirs.filter((d): d is string => d !== undefined).map((d) => path.resolve(cwd, d, "token"));
}

function stateTokens(env: NodeJS.ProcessEnv, home: string, cwd: string): Array<[string | undefined, string]> {
  return stateTokenFiles(env, home, cwd).map((file) => {
    try {
      return [fs.readFileSync(file, "utf8").trim(), file];
    } catch {
      return [undefined, file];
    }
  });
}

function normalUrl(url: string, source: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`the agent URL from ${source} is not a URL: ${JSON.stringify(url)}`);
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "")
    throw new ConfigError(`the agent URL from ${source} must be http://host[:port] or https://..., got ${JSON.stringify(url)}`);
  if (u.search !== "" || u.hash !== "" || url.includes("?") || url.includes("#")) throw new ConfigError(`the agent URL from ${source} must not have a query or fragment: ${JSON.stringify(url)}`);
  return url.replace(/\/+$/, "");
}
