/**
 * Where a local agent leaves its address for clients: `<state dir>/url` (for tools pointed at a state
 * dir), and a profile of the clients' config file (`$WARMPOOL_CONFIG`, else `~/.warmpool/config.toml`),
 * named after the app's environment, with its URL and the absolute path of its token file, made the
 * active profile when no other is. So with `--port 0`, or from another directory, `warmpool call` (and
 * the Python client) find the agent without being told; `--profile` picks among several.
 */
import * as os from "node:os";
import * as path from "node:path";
import { configPath } from "../client/config";
import { writeFileAtomic, writeProfile, type ProfileWrite } from "../client/configfile";

export interface Published {
  urlFile: string;
  configFile: string;
  profile: string;
  /** The profile as written, or why it was not. */
  written: ProfileWrite | Error;
}

/**
 * Writes `<stateDir>/url` and the profile. A config file that cannot be written or does not parse is
 * left as it is, and said (the agent runs regardless: its URL is still printed and in the state dir).
 */
export function publishAgent(o: { stateDir: string; url: string; tokenFile: string; profile: string; env?: NodeJS.ProcessEnv; home?: string }): Published {
  const url = reachableUrl(o.url);
  const urlFile = path.resolve(o.stateDir, "url");
  writeFileAtomic(urlFile, `${url}\n`);
  const configFile = configPath(o.env ?? process.env, o.home ?? os.homedir());
  let written: ProfileWrite | Error;
  try {
    written = writeProfile(configFile, o.profile, { url, token_file: path.resolve(o.tokenFile) });
  } catch (err) {
    written = err as Error;
  }
  return { urlFile, configFile, profile: o.profile, written };
}

/** The line `warmpool dev` prints about it. */
export function describePublished(p: Published): string {
  if (p.written instanceof Error) return `warning: client profile [${p.profile}] not written to ${p.configFile}: ${p.written.message}`;
  const how = p.written.active
    ? "active: client commands use it when nothing else names an agent"
    : `not active, [${p.written.activeOther}] is: use --profile ${p.profile} or WARMPOOL_PROFILE=${p.profile}`;
  return `client profile [${p.profile}] written to ${p.configFile} (${how})`;
}

/** An agent listening on every address is reached on loopback. */
export function reachableUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === "0.0.0.0") u.hostname = "127.0.0.1";
  else if (u.hostname === "[::]") u.hostname = "[::1]";
  return u.toString().replace(/\/$/, "");
}
