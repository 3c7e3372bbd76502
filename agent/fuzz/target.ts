/**
 * The agent under attack: a real `warmpool serve` process (so that a crash is a dead process, not a
 * dead test runner) on a loopback port, with the fuzz app (fuzz/app) and its real Python workers, on
 * one data plane. Small limits make the limits reachable in a bounded run: 256 connections, a 3 s
 * head timeout, bodies given 4 s before they must keep up 500 B/s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "undici";

/** The agent package: this file runs from agent/dist/fuzz (npm run fuzz) or agent/fuzz (jest). */
const AGENT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
export const FUZZ_APP = path.join(AGENT, "fuzz", "app");
const MAIN = path.join(AGENT, "dist", "src", "cli", "main.js");

export const LIMITS = {
  maxConnections: 256,
  headersTimeoutS: 3,
  bodyTimeoutS: 4,
  bodyMinRate: 500,
};

export interface Target {
  plane: string;
  host: string;
  port: number;
  url: string;
  token: string;
  pid: number;
  stateDir: string;
  /** The token-less metrics listener (`--metrics-port`): GET /metrics only. */
  metrics: { host: string; port: number };
  alive(): boolean;
  /** Requests the recorder saw since the last call (through the private endpoint, with the token). */
  seen(): Promise<
    Array<{
      method: string;
      path: string;
      anon: string | null;
      auth: string | null;
    }>
  >;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Run under this open-file limit (soft and hard), as `ulimit -n` would. */
  fdLimit?: number;
  /** Run under this soft open-file limit only (`ulimit -Sn`). */
  softFdLimit?: number;
  /** Leave the connection cap to the agent's default (derived from the fd limit). */
  defaultCap?: boolean;
}

export async function startTarget(plane: "agent" | "haproxy", options: TargetOptions = {}): Promise<Target> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `wp-fuzz-${plane}-`));
  const args = [
    MAIN,
    "serve",
    path.join(FUZZ_APP, "app.yaml"),
    "--port",
    "0",
    "--state-dir",
    stateDir,
    "--data-plane",
    plane,
    "--log-level",
    "error",
    "--metrics-port",
    "0",
    ...(options.defaultCap === true ? [] : ["--max-connections", String(LIMITS.maxConnections)]),
    "--headers-timeout",
    String(LIMITS.headersTimeoutS),
    "--body-timeout",
    String(LIMITS.bodyTimeoutS),
    "--body-min-rate",
    String(LIMITS.bodyMinRate),
  ];
  // The agent writes a profile for clients: into this throw-away state dir, not the user's ~/.warmpool.
  const env = { ...process.env, WARMPOOL_CONFIG: path.join(stateDir, "config.toml") };
  const ulimit = options.fdLimit !== undefined ? `ulimit -n ${options.fdLimit}` : options.softFdLimit !== undefined ? `ulimit -Sn ${options.softFdLimit}` : null;
  const child: ChildProcess =
    ulimit === null
      ? spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env })
      : spawn("bash", ["-c", `${ulimit} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const [url, metricsUrl] = await new Promise<[string, string]>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready on (http:\/\/\S+)/.exec(out);
      const metrics = /metrics without a token on (http:\/\/\S+)/.exec(out);
      if (m !== null && metrics !== null) resolve([m[1] as string, metrics[1] as string]);
    });
    child.once("exit", (code) => reject(new Error(`the agent exited with ${code} before it was ready:\n${stderr}`)));
  });
  const token = fs.readFileSync(path.join(stateDir, "token"), "utf8").trim();
  const u = new URL(url);
  const auth = { authorization: `Bearer ${token}` };
  // The recorder (minContainers 1) must be up before the first case.
  for (const deadline = Date.now() + 60_000; ;) {
    const res = await request(`${url}/web/fz/private/__seen`, {
      headers: auth,
    }).catch(() => null);
    const ok = res?.statusCode === 200;
    await res?.body.text();
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the fuzz app's web server did not come up:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // A Dict and a Queue for the API cases to work on (collections.ts's routes), besides missing ones.
  for (const kind of ["dicts", "queues"]) {
    const res = await request(`${url}/v1/${kind}/fz`, { method: "PUT", headers: auth });
    await res.body.text();
  }
  const pid = child.pid as number;
  const mu = new URL(metricsUrl);
  return {
    plane,
    host: u.hostname,
    port: Number(u.port),
    url,
    token,
    pid,
    stateDir,
    metrics: { host: mu.hostname, port: Number(mu.port) },
    alive: () => child.exitCode === null && child.signalCode === null,
    async seen() {
      const res = await request(`${url}/web/fz/private/__seen`, {
        headers: auth,
      });
      if (res.statusCode !== 200) throw new Error(`recorder answered ${res.statusCode}: ${await res.body.text()}`);
      return (await res.body.json()) as Array<{
        method: string;
        path: string;
        anon: string | null;
        auth: string | null;
      }>;
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
