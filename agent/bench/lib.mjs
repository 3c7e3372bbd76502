// Shared helpers of the agent benchmark: start a real agent process (the CLI), deploy apps, HTTP load
// generators on undici, statistics, and process memory from /proc. Every loop is bounded in count and
// in time.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Client, Pool } from "undici";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const AGENT_DIR = path.resolve(BENCH_DIR, "..");
export const APP_DIR = path.join(BENCH_DIR, "app");
export const CLI = path.join(AGENT_DIR, "dist", "src", "cli", "main.js");
const { appToken } = await import(path.join(AGENT_DIR, "dist", "src", "token.js"));

/** What a worker the agent started takes on /invoke: its App's token (PROTOCOL.md "Who may call a worker"). */
export function workerHeaders(agent, app) {
  return { "content-type": "application/json", authorization: `Bearer ${appToken(agent.token, app)}` };
}

export const now = () => performance.now();

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `wp-bench-${prefix}-`));
}

/** Waits for `promise` at most `ms`, failing with `what`. */
export async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `warmpool agent` (standalone mode: apps come from PUT /v1/apps/{app}) as a child process with
 * its own state directory, and resolves once it prints its URL. `nodeFlags` go to node (e.g. --cpu-prof).
 */
export async function startAgentProcess({ nodeFlags = [], maxPending = 2000, logLevel = "warn", label = "agent", cpuProfDir = null, args = [] } = {}) {
  const stateDir = tempDir(label);
  const flags = [...nodeFlags];
  if (cpuProfDir !== null) flags.push("--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`);
  const child = spawn(process.execPath, [...flags, CLI, "agent", "--state-dir", stateDir, "--port", "0", "--max-pending", String(maxPending), "--log-level", logLevel, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    // The agent writes a profile for clients: into its state dir here, not the user's ~/.warmpool.
    env: { ...process.env, WARMPOOL_STATE_DIR: stateDir, WARMPOOL_CONFIG: path.join(stateDir, "config.toml") },
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    if (stderr.length < 200_000) stderr += d;
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const url = await within(
    30_000,
    "agent start",
    new Promise((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d) => {
        out += d;
        const m = /warmpool agent ready on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then(({ code, signal }) => reject(new Error(`agent exited (${code ?? signal}) before it was ready:\n${stderr}`)));
    }),
  );
  const token = fs.readFileSync(path.join(stateDir, "token"), "utf8").trim();
  const api = new Api(url, token);
  return {
    child,
    pid: child.pid,
    url,
    token,
    stateDir,
    api,
    stderr: () => stderr,
    async stop() {
      await api.close();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      try {
        await within(20_000, "agent stop", exited);
      } catch {
        child.kill("SIGKILL");
        await exited;
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The agent's HTTP API over one keep-alive pool (for control requests, not for measured load). */
export class Api {
  constructor(url, token) {
    this.url = url;
    this.token = token;
    this.auth = `Bearer ${token}`;
    this.pool = new Pool(url, { connections: 4 });
  }
  async req(method, p, body) {
    const headers = { authorization: this.auth };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.pool.request({ method, path: p, headers, body: body === undefined ? null : JSON.stringify(body) });
    const text = await res.body.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.statusCode >= 400) throw new Error(`${method} ${p}: ${res.statusCode} ${text.slice(0, 500)}`);
    return { status: res.statusCode, body: json, text };
  }
  deploy(app, functions) {
    return this.req("PUT", `/v1/apps/${app}?dir=${encodeURIComponent(APP_DIR)}`, { name: app, functions });
  }
  fn(app, fn) {
    return this.req("GET", `/v1/apps/${app}/functions/${fn}`).then((r) => r.body);
  }
  call(app, fn, args) {
    return this.req("POST", `/v1/apps/${app}/functions/${fn}/call`, { args, kwargs: {} }).then((r) => r.body);
  }
  close() {
    return this.pool.close();
  }
}

/** Polls `condition` (every `everyMs`) until it returns a value other than undefined/false, or `timeoutMs` passes. */
export async function poll(what, condition, { timeoutMs = 60_000, everyMs = 10 } = {}) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const v = await condition();
    if (v !== undefined && v !== false) return v;
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** VmRSS and VmHWM of a process, in MiB. */
export function memory(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

/** User + system CPU seconds a process has used so far (from /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function loadavg() {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

/**
 * `count` sequential requests on one keep-alive connection; returns each latency in ms. `make(i)`
 * gives {path, body, headers}; `check(text, i)` may throw on a wrong answer.
 */
export async function sequential(origin, count, make, check) {
  const client = new Client(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
  const lat = new Float64Array(count);
  try {
    for (let i = 0; i < count; i++) {
      const r = make(i);
      const t0 = now();
      const res = await client.request({ method: "POST", path: r.path, headers: r.headers, body: r.body });
      const text = await res.body.text();
      lat[i] = now() - t0;
      if (res.statusCode !== 200) throw new Error(`${r.path}: ${res.statusCode} ${text.slice(0, 300)}`);
      if (check) check(text, i);
    }
  } finally {
    await client.close();
  }
  return lat;
}

/**
 * Closed-loop load: `connections` keep-alive connections, each sending its next request as soon as the
 * previous answer arrived, for `durationMs` (after `warmupMs` not counted). Returns completed requests
 * per second and how many failed.
 */
export async function closedLoop(origin, { connections, durationMs, warmupMs = 500, make, expectStatus = 200, onStart, onStop }) {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  let counting = false;
  let stop = false;
  let done = 0;
  let failed = 0;
  let firstError = null;
  let seq = 0;
  const worker = async () => {
    while (!stop) {
      const r = make(seq++);
      try {
        const res = await pool.request({ method: "POST", path: r.path, headers: r.headers, body: r.body });
        await res.body.dump();
        if (res.statusCode !== expectStatus) {
          failed++;
          firstError ??= `status ${res.statusCode}`;
        } else if (counting) done++;
      } catch (err) {
        failed++;
        firstError ??= err.message;
      }
    }
  };
  const workers = Array.from({ length: connections }, worker);
  await new Promise((r) => setTimeout(r, warmupMs));
  onStart?.();
  counting = true;
  const t0 = now();
  await new Promise((r) => setTimeout(r, durationMs));
  counting = false;
  const elapsed = now() - t0;
  onStop?.();
  stop = true;
  await within(30_000, "load generator drain", Promise.all(workers));
  await pool.close();
  return { rps: (done / elapsed) * 1000, done, failed, firstError };
}

/**
 * Sends exactly `total` requests with `connections` in flight at most; returns the time from the first
 * send to the last answer, and every answer's text through `onText`.
 */
export async function fixedCount(origin, { connections, total, make, expectStatus, onText, timeoutMs = 300_000 }) {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  let next = 0;
  let failed = 0;
  let firstError = null;
  const deadline = now() + timeoutMs;
  const worker = async () => {
    while (next < total && now() < deadline) {
      const i = next++;
      const r = make(i);
      try {
        const res = await pool.request({ method: "POST", path: r.path, headers: r.headers, body: r.body });
        const text = await res.body.text();
        if (res.statusCode !== expectStatus) {
          failed++;
          firstError ??= `status ${res.statusCode}: ${text.slice(0, 200)}`;
        } else onText?.(text, i);
      } catch (err) {
        failed++;
        firstError ??= err.message;
      }
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedMs = now() - t0;
  await pool.close();
  return { elapsedMs, sent: next, failed, firstError };
}

/** Nearest-rank percentile of an unsorted array (copied and sorted). */
export function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Median and spread (min, max, and the interquartile range) of per-run figures. */
export function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const q = (p) => {
    if (n === 0) return NaN;
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  return { median: q(0.5), min: sorted[0], max: sorted[n - 1], p25: q(0.25), p75: q(0.75), runs: values };
}

/**
 * Paired sequential latency: `count` rounds, each sending one request on every side over one
 * keep-alive connection per side, so every side sees the same moments of a noisy machine. The order
 * is shuffled every round (seeded, so runs repeat): a request is slower right after a heavy one (the
 * caches it left cold), and a rotating order would always put the same side after the same
 * neighbour — measured: ≈ 25 µs on whichever side follows the agent's JavaScript proxy. Returns each
 * side's latencies in ms.
 */
export async function interleaved(sides, count, seed = 1) {
  const names = Object.keys(sides);
  const clients = Object.fromEntries(names.map((n) => [n, new Client(sides[n].origin, { pipelining: 1, keepAliveTimeout: 60_000 })]));
  const lat = Object.fromEntries(names.map((n) => [n, new Float64Array(count)]));
  const random = mulberry32(seed);
  const order = [...names];
  try {
    for (let i = 0; i < count; i++) {
      for (let k = order.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [order[k], order[j]] = [order[j], order[k]];
      }
      for (let k = 0; k < order.length; k++) {
        const name = order[k];
        const side = sides[name];
        const r = side.make(i);
        const t0 = now();
        const res = await clients[name].request({ method: "POST", path: r.path, headers: r.headers, body: r.body });
        const text = await res.body.text();
        lat[name][i] = now() - t0;
        if (res.statusCode !== 200) throw new Error(`${name} ${r.path}: ${res.statusCode} ${text.slice(0, 300)}`);
        side.check?.(text, i);
      }
    }
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.close()));
  }
  return lat;
}

/** A small seeded PRNG (mulberry32): the same shuffles on every run. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
