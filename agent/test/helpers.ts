/**
 * Test harness of the agent: a real Agent (in this process, so a test can hand it a ManualClock) or a
 * real agent process, real worker processes of both runtimes, real HTTP, and a SQLite file in a temp
 * dir. Waits are on responses and conditions (`until` polls a condition with a deadline); none stands
 * in for synchronisation by sleeping.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "undici";
import { Agent, type AgentDeps } from "../src/agent";
import type { Clock } from "../src/clock";
import type { AgentOptions } from "../src/config/options";
import { volumeDir } from "../src/backends/local/volumes";
import { validateApp } from "../src/spec/load";

// Hooks start and stop real processes: on a loaded 2-core machine that can take longer than jest's 5 s.
jest.setTimeout(30_000);

export const FIXTURES = path.resolve(__dirname, "fixtures", "app");
export const RUNTIMES = path.resolve(__dirname, "..", "runtimes");
export const TOKEN = "test-token-0123456789";

/**
 * HAProxy 2.6's answer to a request it cannot parse at all: built in, sent before any rule or
 * errorfile applies (custom pages for these need HAProxy 3.2). The one answer of either data plane
 * outside the agent's JSON error shape; README's security section says so.
 */
export const HAPROXY_BAD_REQUEST = "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

/**
 * A fresh temp dir, readable by everyone: run as root, the agent runs its sandboxed workers as user
 * 65534, which must be able to read an app dir made here (mkdtemp makes it 0700). The agent's state dir
 * inside is made 0700 by the agent itself.
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wp-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * A dir both a test and its workers can use (FIXTURE_DIR): the workers see only their app dir and
 * volumes, so it is the function's volume `fixture`, shown at its own host path, so the same path works
 * on both sides. Made by the test now (the agent makes it on the first container start), given to the
 * workers' user by the agent. Without a sandbox it is a plain dir.
 */
export function fixtureVolume(stateDir: string, app: string, sandbox: AgentOptions["sandbox"] = "bwrap"): { dir: string; spec: { volumes?: Record<string, string>; env: { FIXTURE_DIR: string } } } {
  const dir = volumeDir(stateDir, app, "fixture");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, spec: { ...(sandbox === "none" ? {} : { volumes: { [dir]: "fixture" } }), env: { FIXTURE_DIR: dir } } };
}

/** `functions` with the fixture volume (and FIXTURE_DIR) added to each, keeping their own env. */
export function withFixture(functions: Record<string, object>, fixture: ReturnType<typeof fixtureVolume>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(functions).map(([k, v]) => {
      const own = v as { env?: object; volumes?: object };
      return [k, { ...v, volumes: { ...(fixture.spec.volumes ?? {}), ...(own.volumes ?? {}) }, env: { ...fixture.spec.env, ...(own.env ?? {}) } }];
    }),
  );
}

export interface Harness {
  agent: Agent;
  url: string;
  dir: string;
  http: Http;
  close(): Promise<void>;
}

/** Starts an agent on a free port with `functions` (FunctionSpec bodies by name) in app `app`. */
export async function startAgent(functions: Record<string, object>, options: AgentOptions & { clock?: Clock; app?: string } = {}, deps: AgentDeps = {}): Promise<Harness> {
  const dir = tempDir("agent");
  const app = options.app ?? "t";
  const agent = new Agent({ stateDir: path.join(dir, "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, ...options }, deps);
  const fixture = fixtureVolume(agent.options.stateDir, app, options.sandbox);
  const fixtureDir = fixture.dir;
  const loaded = validateApp({ name: app, functions: withFixture(functions, fixture) }, "test app", FIXTURES);
  await agent.run([loaded]);
  const http = new Http(agent.url, TOKEN);
  return {
    agent,
    url: agent.url,
    dir: fixtureDir,
    http,
    close: async () => {
      await agent.close();
    },
  };
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export class Http {
  constructor(
    readonly url: string,
    readonly token: string | null,
  ) {}

  async req(method: "GET" | "POST" | "PUT" | "DELETE", p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.token !== null && h.authorization === undefined) h.authorization = `Bearer ${this.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const res = await request(this.url + p, { method, headers: h, body: payload ?? null });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // NDJSON or plain text
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  call(app: string, fn: string, args: unknown[], kwargs: object = {}): Promise<Response> {
    return this.req("POST", `/v1/apps/${app}/functions/${fn}/call`, { args, kwargs });
  }

  spawn(app: string, fn: string, args: unknown[]): Promise<Response> {
    return this.req("POST", `/v1/apps/${app}/functions/${fn}/spawn`, { args });
  }

  get(callId: string, wait = 0): Promise<Response> {
    return this.req("GET", `/v1/calls/${callId}?wait=${wait}`);
  }

  /** Long-polls until the call is final. */
  async result(callId: string): Promise<any> {
    for (;;) {
      const r = await this.get(callId, 30);
      if (r.status !== 200) throw new Error(`GET ${callId}: ${r.status} ${r.text}`);
      if (["succeeded", "failed", "cancelled"].includes(r.body.status)) return r.body;
    }
  }

  async status(app: string, fn: string): Promise<any> {
    return (await this.req("GET", `/v1/apps/${app}/functions/${fn}`)).body;
  }
}

/** Polls `condition` until it holds (returns its value) or `timeoutMs` passes (throws with `what`). */
export async function until<T>(what: string, condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/** GET /stats of a container's worker (PROTOCOL.md). */
export async function workerStats(port: number): Promise<{ inFlight: number; maxInFlight: number; invocations: number; batches: number; maxBatch: number }> {
  const res = await request(`http://127.0.0.1:${port}/stats`);
  return (await res.body.json()) as { inFlight: number; maxInFlight: number; invocations: number; batches: number; maxBatch: number };
}

export function ndjson(text: string): any[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

export const MAIN = path.resolve(__dirname, "..", "dist", "src", "cli", "main.js");

export interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
  /** What it has printed to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
}

/** A process that exists and is not a zombie (the dead agent's workers are re-parented, and reaped by whoever inherits them). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * A real agent process (`warmpool dev app.yaml` in `cwd` unless `args` say otherwise); resolves once it
 * is ready. `prefix`: a command that runs it (e.g. setpriv, to run it as another user).
 */
export function startProcess(cwd: string, args = ["dev", "app.yaml", "--port", "0", "--log-level", "warn"], env: NodeJS.ProcessEnv = process.env, prefix: string[] = []): Promise<Running> {
  const command = [...prefix, process.execPath, MAIN, ...args];
  const child = spawn(command[0] as string, command.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ready on (http:\/\/\S+)/.exec(out);
      if (m !== null) resolve({ child, url: m[1] as string, exited, stdout: () => out, stderr: () => err });
    });
    child.once("exit", (code) => reject(new Error(`agent exited with ${code}: ${err}`)));
  });
}

/** Host processes whose command line is exactly `argv` (a process a test started, found wherever it runs, sandboxes included). */
export function processesRunning(argv: readonly string[]): number[] {
  const cmdline = argv.map((a) => `${a}\0`).join("");
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8") === cmdline;
      } catch {
        return false;
      }
    })
    .map(Number);
}
