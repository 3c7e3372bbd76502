/**
 * The worker listeners under attack (`npm run fuzz -- --planes python,node`; a short run is part of
 * `npm test`, agent/test/fuzz-workers.test.ts). A worker's port is reachable by more than its agent —
 * other processes on the host's loopback with the local backend, other pods in a cluster — so each
 * runtime's worker process (PROTOCOL.md) is started as the agent starts it and attacked directly:
 * malformed heads, bad framing, hostile `/invoke` bodies (random JSON, wrong shapes, deep nesting,
 * invalid UTF-8), stalled heads and bodies, and more connections than it accepts. It fails on a dead
 * worker, a hang, a 5xx, an error answer outside the protocol's `{"error": {"type", "message"}}`, a
 * stall not cut within PROTOCOL.md's 10 s, or a flood not refused with the JSON 503; after every
 * batch the worker must still answer `/ready` and run a well-formed call.
 *
 * `POST /shutdown` is left out: it stops the worker by design (the agent's drain), and who may send it
 * is the network's business (README, "Not guaranteed").
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import * as fc from "fast-check";
import { WORKER_ENV, WORKER_PROTOCOL } from "@warmpool/schema";
import { request } from "undici";
import { freePort } from "../src/backends/local/ports";
import { exchange, holdConnections, inPool, type Exchange, type Outcome } from "./wire";

/** The agent package: this file runs from agent/dist/fuzz (npm run fuzz) or agent/fuzz (jest). */
const AGENT = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === "dist" ? "../.." : "..");
const RUNTIMES = path.join(AGENT, "runtimes");
const APP = path.join(AGENT, "fuzz", "worker-app");

/** PROTOCOL.md "Limits": the longest pause in a request, and the connections beyond max inputs. */
export const WORKER_LIMITS = { stallS: 10, maxInputs: 4, beyondInputs: 64 };

export type WorkerRuntime = "python" | "node";

interface Worker {
  runtime: WorkerRuntime;
  host: string;
  port: number;
  alive(): boolean;
  stop(): Promise<void>;
}

/** One worker process, with exactly the environment PROTOCOL.md says the agent gives it. */
export async function startWorker(runtime: WorkerRuntime): Promise<Worker> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    [WORKER_ENV.protocol]: WORKER_PROTOCOL,
    [WORKER_ENV.host]: "127.0.0.1",
    [WORKER_ENV.port]: String(port),
    [WORKER_ENV.handler]: "handlers:echo",
    [WORKER_ENV.appDir]: APP,
    [WORKER_ENV.maxInputs]: String(WORKER_LIMITS.maxInputs),
    [WORKER_ENV.batchSize]: "0",
    [WORKER_ENV.containerId]: `fuzz-${runtime}`,
  };
  const child =
    runtime === "python"
      ? spawn("python3", ["-m", "warmpool.worker"], { cwd: APP, env: { ...env, PYTHONPATH: path.join(RUNTIMES, "python", "src"), PYTHONDONTWRITEBYTECODE: "1" }, stdio: ["ignore", "ignore", "pipe"] })
      : spawn(process.execPath, [path.join(RUNTIMES, "node", "worker.js")], { cwd: APP, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const worker: Worker = {
    runtime,
    host: "127.0.0.1",
    port,
    alive,
    async stop() {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
  };
  for (const deadline = Date.now() + 30_000; !(await ready(worker));) {
    if (!alive() || Date.now() > deadline) {
      await worker.stop();
      throw new Error(`the ${runtime} worker did not become ready:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return worker;
}

/** `/ready` answers 200 and a well-formed call runs: the worker still does its job. */
async function ready(w: Worker): Promise<boolean> {
  if (!w.alive()) return false;
  const origin = `http://${w.host}:${w.port}`;
  const probe = await request(`${origin}/ready`, { headersTimeout: 5000, bodyTimeout: 5000 }).catch(() => null);
  await probe?.body.text();
  if (probe?.statusCode !== 200) return false;
  const call = await request(`${origin}/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ id: "probe", args: [7], kwargs: {} }] }),
    headersTimeout: 5000,
    bodyTimeout: 5000,
  }).catch(() => null);
  const text = (await call?.body.text()) ?? "";
  return call?.statusCode === 200 && text.includes('"probe"') && text.includes("7");
}

const CRLF = "\r\n";
const b = (s: string): Buffer => Buffer.from(s, "latin1");

export interface WorkerCase {
  category: "malformed" | "framing" | "invoke";
  name: string;
  exchange: Exchange;
  /** A closed connection without an answer is acceptable (resets, bodies cut short). */
  mayClose: boolean;
}

const one = (name: string, category: WorkerCase["category"], text: string | Buffer, mayClose = false, answers = 1): WorkerCase => ({
  category,
  name,
  mayClose,
  exchange: { steps: [{ bytes: typeof text === "string" ? b(text) : text }], then: mayClose ? "half-close" : undefined, answers, deadlineMs: 5000 },
});

function post(path: string, body: Buffer | string, headers: string[] = []): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return Buffer.concat([
    b(`POST ${path} HTTP/1.1${CRLF}Host: w${CRLF}Content-Type: application/json${CRLF}Content-Length: ${bytes.length}${CRLF}${headers.map((h) => h + CRLF).join("")}${CRLF}`),
    bytes,
  ]);
}

const PATHS = ["/invoke", "/ready", "/stats", "/", "/invoke/", "/invoke?x=1", "//invoke", "/%69nvoke", "*", "http://w/invoke", "/stats#x", "/" + "a".repeat(70_000)];
const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "BREW", "G\x00T", ""];

function malformed(): fc.Arbitrary<WorkerCase> {
  return fc.oneof(
    fc
      .tuple(fc.constantFrom(...METHODS), fc.constantFrom(...PATHS), fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1", "http/1.1", ""))
      .map(([m, p, v]) => one(`${m} ${p.slice(0, 40)} ${v}`, "malformed", `${m} ${p} ${v}${CRLF}Host: w${CRLF}Content-Length: 0${CRLF}${CRLF}`, true)),
    fc.constantFrom(
      one("bare LF head", "malformed", "GET /ready HTTP/1.1\nHost: w\n\n", true),
      one("obs-fold", "malformed", `GET /ready HTTP/1.1${CRLF}Host: w${CRLF} folded${CRLF}${CRLF}`, true),
      one("NUL in header", "malformed", `GET /ready HTTP/1.1${CRLF}Host: w\x00x${CRLF}${CRLF}`, true),
      one("header without colon", "malformed", `GET /ready HTTP/1.1${CRLF}Host w${CRLF}${CRLF}`, true),
      one("17 kB header", "malformed", `GET /ready HTTP/1.1${CRLF}Host: w${CRLF}X-Big: ${"a".repeat(17_000)}${CRLF}${CRLF}`, true),
      one("200 headers", "malformed", `GET /ready HTTP/1.1${CRLF}Host: w${CRLF}${Array.from({ length: 200 }, (_, i) => `X-H${i}: v${CRLF}`).join("")}${CRLF}`, true),
      one("TLS hello", "malformed", Buffer.from("160301002c010000280303" + "00".repeat(40), "hex"), true),
      one("HTTP/2 preface", "malformed", `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`, true),
      one("high bytes", "malformed", Buffer.from([0x47, 0x45, 0x54, 0x20, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]), true),
      one("empty lines then a request", "malformed", `${CRLF}${CRLF}GET /ready HTTP/1.1${CRLF}Host: w${CRLF}${CRLF}`, true),
    ),
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => one(`${bytes.length} random bytes`, "malformed", Buffer.from(bytes), true)),
  );
}

function framing(): fc.Arbitrary<WorkerCase> {
  const body = '{"inputs":[{"id":"f","args":[1],"kwargs":{}}]}';
  return fc.constantFrom(
    one("negative length", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: -5${CRLF}${CRLF}`, true),
    one("non-numeric length", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 1e3${CRLF}${CRLF}`, true),
    one("two lengths", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 3${CRLF}Content-Length: ${body.length}${CRLF}${CRLF}${body}`, true),
    one("length past the body, then close", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 99999999999${CRLF}${CRLF}abc`, true),
    one("chunked", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}${body.length.toString(16)}${CRLF}${body}${CRLF}0${CRLF}${CRLF}`),
    one("bad chunk size", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}zz${CRLF}abc${CRLF}0${CRLF}${CRLF}`, true),
    one("huge chunk then close", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}fffffffffff${CRLF}abc`, true),
    one("CL and TE", "framing", `POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 4${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`, true),
    one("pipelined pair", "framing", Buffer.concat([post("/invoke", body), post("/invoke", body)]), true, 2),
    one("keep-alive then garbage", "framing", Buffer.concat([post("/invoke", body), b("garbage\r\n\r\n")]), true, 2),
  );
}

/** `/invoke` bodies: random JSON anywhere in the document, wrong shapes, deep nesting, invalid UTF-8. */
function invoke(): fc.Arbitrary<WorkerCase> {
  const item = fc.oneof(
    fc.record(
      {
        id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
        kwargs: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  );
  return fc.oneof(
    fc.array(item, { maxLength: 6 }).map((inputs) => one(`invoke ${inputs.length} items`, "invoke", post("/invoke", JSON.stringify({ inputs })), false)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => one("invoke: any JSON", "invoke", post("/invoke", JSON.stringify(v)), false)),
    fc.string({ maxLength: 200 }).map((s) => one("invoke: any text", "invoke", post("/invoke", s), false)),
    fc
      .integer({ min: 100, max: 50_000 })
      .map((depth) => one(`invoke: nested ${depth} deep`, "invoke", post("/invoke", `{"inputs":[{"id":"d","args":[${"[".repeat(depth)}${"]".repeat(depth)}],"kwargs":{}}]}`), false)),
    fc.integer({ min: 100, max: 50_000 }).map((depth) => one(`invoke: unclosed ${depth} deep`, "invoke", post("/invoke", `{"inputs":${"[".repeat(depth)}`), false)),
    fc.constantFrom(
      one("invoke: invalid UTF-8", "invoke", post("/invoke", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), false),
      one("invoke: lone surrogate", "invoke", post("/invoke", '{"inputs":[{"id":"\\ud800","args":["\\udfff"],"kwargs":{}}]}'), false),
      one("invoke: 10,000 inputs", "invoke", post("/invoke", JSON.stringify({ inputs: Array.from({ length: 10_000 }, (_, i) => ({ id: String(i), args: [], kwargs: {} })) })), false),
      one("invoke: huge number", "invoke", post("/invoke", `{"inputs":[{"id":"n","args":[1e999999, ${"9".repeat(5000)}],"kwargs":{}}]}`), false),
      one("invoke: NaN", "invoke", post("/invoke", '{"inputs":[{"id":"n","args":[NaN, Infinity],"kwargs":{}}]}'), false),
      one("invoke: duplicate ids", "invoke", post("/invoke", '{"inputs":[{"id":"a","args":[],"kwargs":{}},{"id":"a","args":[],"kwargs":{}}]}'), false),
      one("invoke: __proto__ kwargs", "invoke", post("/invoke", '{"inputs":[{"id":"p","args":[],"kwargs":{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}}]}'), false),
      one("invoke: a method's name that is not a string", "invoke", post("/invoke", '{"inputs":[{"id":"m","method":5,"params":[1]}]}'), false),
      one("invoke: a method for a plain handler, __proto__ params", "invoke", post("/invoke", '{"inputs":[{"id":"m","method":"constructor","params":{"__proto__":{"x":1}}}]}'), false),
      one("stats with a body", "invoke", b(`GET /stats HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 5${CRLF}${CRLF}hello`), false),
    ),
  );
}

export function generateWorkerCases(n: number, seed: number): WorkerCase[] {
  return fc.sample(fc.oneof({ arbitrary: malformed(), weight: 40 }, { arbitrary: framing(), weight: 20 }, { arbitrary: invoke(), weight: 40 }), { numRuns: n, seed });
}

/** What an answer may be: a success, or an error in the protocol's shape with a status below 500. */
export function judgeWorker(c: WorkerCase, o: Outcome): string | null {
  if (o.hung) return `no answer or close within ${c.exchange.deadlineMs} ms`;
  for (const r of o.responses) {
    if (r.status >= 500 && !(r.status === 503 && /"type":\s*"(Overloaded|NotReady|Draining)"/.test(r.body))) return `answered ${r.status}: ${r.body.slice(0, 200)}`;
    if (r.status >= 400) {
      try {
        const v = JSON.parse(r.body) as { error?: { type?: unknown; message?: unknown } };
        if (typeof v.error?.type !== "string" || typeof v.error.message !== "string") return `not the error shape: ${r.status} ${r.body.slice(0, 120)}`;
      } catch {
        return `not the error shape: ${r.status} ${JSON.stringify(r.body.slice(0, 120))}`;
      }
    }
  }
  if (o.responses.length === 0 && !c.mayClose) return `closed with no answer${o.error === null ? "" : ` (${o.error})`}`;
  return null;
}

export interface WorkerReport {
  runtime: WorkerRuntime;
  cases: number;
  statuses: Record<string, number>;
  failures: Array<{ category: string; name: string; why: string }>;
  scenarios: Array<{ name: string; ok: boolean; detail: string }>;
  crashed: boolean;
  seconds: number;
}

/** A head or a body that stops arriving: cut (408 or a close) within the stall limit plus slack. */
async function stalls(w: Worker): Promise<Array<{ name: string; ok: boolean; detail: string }>> {
  const within = (WORKER_LIMITS.stallS + 4) * 1000;
  const cases: Array<[string, Buffer]> = [
    ["stalled head", b(`POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Le`)],
    ["stalled body", b(`POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Content-Length: 100${CRLF}${CRLF}{"inputs":[`)],
    ["stalled chunked body", b(`POST /invoke HTTP/1.1${CRLF}Host: w${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}64${CRLF}{"in`)],
  ];
  return Promise.all(
    cases.map(async ([name, bytes]) => {
      const out = await exchange(w.host, w.port, { steps: [{ bytes }], answers: 1, deadlineMs: within + 10_000 });
      const r = out.responses[0];
      const cut = !out.hung && out.ms <= within && (r === undefined || r.status === 408);
      return { name, ok: cut, detail: `${r === undefined ? "closed" : r.status} after ${out.ms} ms (limit ${within} ms)` };
    }),
  );
}

/** More connections than the worker accepts, all held at once: the rest refused with the JSON 503, none dropped unanswered; then it serves again. */
async function flood(w: Worker): Promise<{ name: string; ok: boolean; detail: string }> {
  const cap = WORKER_LIMITS.maxInputs + WORKER_LIMITS.beyondInputs;
  const n = cap + 40;
  // Held without a request: only the refused ones hear anything, at once.
  const answers = await holdConnections(w.host, w.port, n, {
    quietMs: 2000,
    silence: "held",
    classify: (r) => (r.status === 503 && r.body.includes('"Overloaded"') ? "503" : `${r.status} ${r.body.slice(0, 80)}`),
  });
  const held = answers.filter((a) => a === "held").length;
  const refused = answers.filter((a) => a === "503").length;
  const other = answers.filter((a) => a !== "held" && a !== "503");
  // The held ones close as the worker notices; give it the time to, then it must serve again.
  let serves = false;
  for (const deadline = Date.now() + 10_000; !(serves = await ready(w)) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  return {
    name: "connection flood",
    // At least n − cap refused: the probes' own kept-alive connections may hold a few slots too.
    ok: other.length === 0 && refused >= n - cap && held <= cap && serves,
    detail: `${n} connections at once (accepts ${cap}): ${held} held, ${refused} refused 503 Overloaded, ${other.length} otherwise${other.length > 0 ? `: ${[...new Set(other)].slice(0, 5).join("; ")}` : ""}; serves afterwards: ${serves}`,
  };
}

export async function fuzzWorker(runtime: WorkerRuntime, o: { cases: number; seed: number; concurrency: number; log?: (line: string) => void }): Promise<WorkerReport> {
  const t0 = Date.now();
  const w = await startWorker(runtime);
  const report: WorkerReport = { runtime, cases: 0, statuses: {}, failures: [], scenarios: [], crashed: false, seconds: 0 };
  try {
    const stalled = stalls(w);
    const cases = generateWorkerCases(o.cases, o.seed);
    const batch = 250;
    for (let i = 0; i < cases.length; i += batch) {
      // Below the worker's connection cap, so that every case is answered rather than refused.
      await inPool(cases.slice(i, i + batch), Math.min(o.concurrency, WORKER_LIMITS.beyondInputs / 2), async (c) => {
        const out = await exchange(w.host, w.port, c.exchange);
        report.cases++;
        for (const r of out.responses) report.statuses[r.status] = (report.statuses[r.status] ?? 0) + 1;
        if (out.responses.length === 0) report.statuses.closed = (report.statuses.closed ?? 0) + 1;
        const why = judgeWorker(c, out);
        if (why !== null) report.failures.push({ category: c.category, name: c.name, why });
      });
      if (!(await ready(w))) {
        report.crashed = true;
        report.failures.push({ category: "liveness", name: `after case ${i + batch}`, why: w.alive() ? "the worker does not serve /ready and /invoke" : "the worker process died" });
        break;
      }
      o.log?.(`${runtime} worker: ${Math.min(i + batch, cases.length)}/${cases.length} cases, ${report.failures.length} failures`);
    }
    report.scenarios.push(...(await stalled));
    if (!report.crashed) report.scenarios.push(await flood(w));
    for (const s of report.scenarios) if (!s.ok) report.failures.push({ category: "scenario", name: s.name, why: s.detail });
  } finally {
    await w.stop();
  }
  report.seconds = Math.round((Date.now() - t0) / 100) / 10;
  return report;
}

export function formatWorkerReport(r: WorkerReport, seed: number): string {
  const lines = [
    `${r.runtime} worker: ${r.cases} cases in ${r.seconds} s (seed ${seed}), ${r.failures.length} failures${r.crashed ? ", WORKER DOWN" : ""}`,
    `  answers: ${Object.entries(r.statuses)
      .sort()
      .map(([k, v]) => `${k} ×${v}`)
      .join(", ")}`,
    ...r.scenarios.map((s) => `  ${s.ok ? "ok  " : "FAIL"} ${s.name}: ${s.detail}`),
    ...r.failures.slice(0, 25).map((f) => `  FAIL [${f.category}] ${f.name}: ${f.why}`),
  ];
  if (r.failures.length > 25) lines.push(`  … ${r.failures.length - 25} more`);
  return lines.join("\n");
}
