// Instrumented agent host of the benchmark: the real Agent with the real LocalBackend and SQLite store,
// in a child process of the benchmark, instrumented from the outside (no change to the agent's code).
// Options come as JSON in BENCH_AGENT_OPTIONS (e.g. {"fsync": false}).
//
// Store commits (b): each group commit of the SQLite store is counted and timed (the store's `commit`
// function, wrapped), so the benchmark can say how much of the event loop fsync takes.
//
// Cold start (c): each step is timestamped with performance.now():
//   arrival  – the call's input enters the call table (CallTable.enqueueSync, wrapped here)
//   decision – the autoscaler logs its `autoscaler.decision` event (a logger that records events)
//   spawnEnter / spawned – Backend.start() called / returned (the child process exists, pid known)
//   ready    – Backend.ready() resolved (the agent's /ready probe saw 200)
//   dispatch – the container's `container.ready` event (the dispatcher may now send the input)
// The benchmark talks to it over HTTP for the calls and over the IPC channel for the marks.
import * as http from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { AGENT_DIR, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { Agent } = require(path.join(AGENT_DIR, "dist/src/agent.js"));
const { LocalBackend } = require(path.join(AGENT_DIR, "dist/src/backends/local/local.js"));

const marks = new Map(); // fn key -> { arrival, decision, spawnEnter, spawned, ready, dispatch, pid }
const mark = (key, name, value = performance.now()) => {
  let m = marks.get(key);
  if (m === undefined) marks.set(key, (m = {}));
  if (m[name] === undefined) m[name] = value;
};

const logger = {
  level: "info",
  info(obj) {
    if (obj === null || typeof obj !== "object") return;
    if (obj.event === "autoscaler.decision" && obj.start > 0) mark(obj.fn, "decision");
    else if (obj.event === "container.ready") {
      mark(obj.fn, "dispatch");
      mark(obj.fn, "agentStartMs", obj.startMs);
      mark(obj.fn, "agentReadyMs", obj.readyMs);
    }
  },
  warn(obj) {
    if (obj?.event === "container.startFailed") process.send?.({ type: "error", error: obj.error });
  },
  error() {},
  debug() {},
  trace() {},
  fatal() {},
  flush() {},
  child() {
    return logger;
  },
};

// Inside Backend.start(): the free-port probe and the child_process.spawn() call, timed by wrapping the
// module exports that the compiled backend reads at call time.
const ports = require(path.join(AGENT_DIR, "dist/src/backends/local/ports.js"));
const childProcess = require("node:child_process");
let current = null; // fn key of the start in progress (starts are benchmarked one at a time)
const freePort = ports.freePort;
ports.freePort = async (...args) => {
  const t0 = performance.now();
  const port = await freePort(...args);
  if (current !== null) mark(current, "freePortMs", performance.now() - t0);
  return port;
};
const spawnChild = childProcess.spawn;
childProcess.spawn = (...args) => {
  const t0 = performance.now();
  const child = spawnChild(...args);
  if (current !== null) mark(current, "spawnSyscallMs", performance.now() - t0);
  return child;
};

const stateDir = tempDir("cold");
const python = process.env.BENCH_PYTHON ?? "python3";
const backend = new LocalBackend({ stateDir, logDir: path.join(stateDir, "logs"), runtimesDir: path.join(AGENT_DIR, "runtimes"), python, node: process.execPath });
const start = backend.start.bind(backend);
backend.start = async (fn, id) => {
  mark(fn.key, "spawnEnter");
  current = fn.key;
  const handle = await start(fn, id);
  current = null;
  mark(fn.key, "spawned");
  mark(fn.key, "pid", Number(handle.ref.replace(/^pid /, "")));
  return handle;
};
const ready = backend.ready.bind(backend);
backend.ready = async (handle, timeoutMs) => {
  // Experiment (apps named "bcoldpoll…"): readiness probed every 5 ms instead of the backend's
  // backoff, to size that proposed change. Every other app uses the backend's own ready().
  if (handle.fn.startsWith("bcoldpoll")) await pollReady(handle, timeoutMs, 5);
  else await ready(handle, timeoutMs);
  mark(handle.fn, "ready");
};

async function pollReady(handle, timeoutMs, everyMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const req = http.get({ host: handle.host, port: handle.port, path: "/ready", agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`container ${handle.id} was not ready within ${timeoutMs} ms`);
}

const extra = JSON.parse(process.env.BENCH_AGENT_OPTIONS ?? "{}");
const agent = new Agent({ stateDir, port: 0, logLevel: "silent", python, runtimesDir: path.join(AGENT_DIR, "runtimes"), ...extra }, { backend, logger });
const commits = { count: 0, ops: 0, ms: 0, maxMs: 0 };
const commit = agent.store.commit;
if (typeof commit === "function") {
  agent.store.commit = (ops) => {
    const t0 = performance.now();
    try {
      return commit(ops);
    } finally {
      const dt = performance.now() - t0;
      commits.count++;
      commits.ops += ops.length;
      commits.ms += dt;
      if (dt > commits.maxMs) commits.maxMs = dt;
    }
  };
}
const enqueueSync = agent.calls.enqueueSync.bind(agent.calls);
agent.calls.enqueueSync = (lane, payload) => {
  mark(lane.key, "arrival");
  return enqueueSync(lane, payload);
};

await agent.run([]);
process.on("message", (msg) => {
  if (msg.type === "commits") {
    process.send({ type: "commits", commits: { ...commits } });
    commits.count = commits.ops = commits.ms = commits.maxMs = 0;
  } else if (msg.type === "marks") process.send({ type: "marks", key: msg.key, marks: marks.get(msg.key) ?? null });
  else if (msg.type === "close") void agent.close().then(() => process.exit(0));
});
process.send({ type: "ready", url: agent.url, token: agent.token, stateDir });
