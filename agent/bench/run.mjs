#!/usr/bin/env node
// The agent benchmark (`npm run bench:agent`, `-- --quick` for a smoke run): a real agent process in
// local mode, real Python workers on loopback, and
//   (a) warm no-op call through the agent vs the same worker's POST /invoke: added latency p50/p99
//       (sequential) and throughput ratio (closed-loop, same connections both ways), same run;
//   (b) durable spawns accepted per second, and spawn → all results done per second;
//   (c) cold start of a Python no-op worker: decision, process start, ready, total first call;
//   (d) agent RSS with 100,000 queued spawned calls.
// Every figure is a median over repeated runs with its spread; every ratio is against a baseline
// measured in the same run. Results: a table on stdout and agent/bench/results/latest.json.
//
// Flags: --quick (small counts, 3 runs), --only a,b,c,d, --runs N, --profile (agent processes of a,
// b and d run under node --cpu-prof; profiles go to agent/bench/results/profiles/).
import { execFileSync, fork, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Pool } from "undici";
import { APP_DIR, BENCH_DIR, AGENT_DIR, closedLoop, cpuSeconds, fixedCount, loadavg, memory, now, percentile, poll, sequential, startAgentProcess, summary, within } from "./lib.mjs";

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag("quick");
const ONLY = new Set((value("only") ?? "a,b,c,d").split(","));
const RUNS = Number(value("runs") ?? (QUICK ? 3 : 5));
const PROFILE = flag("profile");
const RESULTS_DIR = path.join(BENCH_DIR, "results");
const PROFILE_DIR = path.join(RESULTS_DIR, "profiles");
fs.mkdirSync(RESULTS_DIR, { recursive: true });
if (PROFILE) fs.mkdirSync(PROFILE_DIR, { recursive: true });

const CFG = {
  latencyRequests: QUICK ? 500 : 3000,
  latencyWarmup: QUICK ? 100 : 300,
  loadConnections: Number(value("connections") ?? 16),
  loadDurationMs: QUICK ? 1000 : 3000,
  spawnTotal: QUICK ? 2000 : 10_000,
  spawnConnections: 64,
  queuedInputs: Number(value("queued") ?? (QUICK ? 10_000 : 100_000)),
  memoryRuns: QUICK ? 1 : RUNS,
  coldRuns: QUICK ? 3 : Math.max(RUNS, 7),
};

const log = (...a) => process.stderr.write(`${a.join(" ")}\n`);
const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const ms = (s) => `${round(s.median, 3)} ms [${round(s.min, 3)} – ${round(s.max, 3)}]`;

const results = {
  startedAt: new Date().toISOString(),
  command: `npm run bench:agent${QUICK ? " -- --quick" : ""}`,
  quick: QUICK,
  runs: RUNS,
  config: CFG,
  machine: machine(),
  load: { before: loadavg() },
  sections: {},
};

function machine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", timeout: 5000 }).trim();
    } catch {
      return null;
    }
  };
  const lscpu = sh("lscpu", []) ?? "";
  const field = (k) => new RegExp(`^${k}:\\s+(.*)$`, "m").exec(lscpu)?.[1] ?? null;
  return {
    nproc: Number(sh("nproc", [])),
    cpuModel: field("Model name"),
    hypervisor: field("Hypervisor vendor"),
    memTotalGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: os.release(),
    node: process.version,
    python: sh(process.env.BENCH_PYTHON ?? "python3", ["--version"]),
  };
}

const JSON_HEADERS = { "content-type": "application/json" };

// ---------------------------------------------------------------- (a) warm call: agent vs direct
async function benchWarm(agent) {
  log("(a) warm no-op call: through the agent vs the worker directly");
  await agent.api.deploy("bwarm", {
    noop: { handler: "handlers:noop", concurrency: { maxInputs: 64 }, autoscaler: { minContainers: 1, maxContainers: 1, scaledownWindow: 3600 } },
  });
  const status = await poll("warm container ready", async () => {
    const s = await agent.api.fn("bwarm", "noop");
    return s.containers.find((c) => c.state === "ready") ?? false;
  });
  const workerPort = status.port;
  const workerPid = Number(String(status.ref).replace(/^pid /, ""));
  const workerOrigin = `http://127.0.0.1:${workerPort}`;
  const agentHeaders = { ...JSON_HEADERS, authorization: `Bearer ${agent.token}` };
  const viaAgent = (i) => ({ path: "/v1/apps/bwarm/functions/noop/call", headers: agentHeaders, body: `{"args":[${i}],"kwargs":{}}` });
  const direct = (i) => ({ path: "/invoke", headers: JSON_HEADERS, body: `{"inputs":[{"id":"d-${i}","args":[${i}],"kwargs":{}}]}` });
  const checkAgent = (text, i) => {
    const r = JSON.parse(text);
    if (r.status !== "succeeded" || r.result !== i) throw new Error(`agent answered ${text.slice(0, 200)} for ${i}`);
  };
  const checkDirect = (text, i) => {
    const r = JSON.parse(text).outputs[0];
    if (!r.ok || r.value !== i) throw new Error(`worker answered ${text.slice(0, 200)} for ${i}`);
  };
  // Warm both paths (connections, JIT, the worker's threads).
  await sequential(agent.url, CFG.latencyWarmup, viaAgent, checkAgent);
  await sequential(workerOrigin, CFG.latencyWarmup, direct, checkDirect);

  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? ["direct", "agent"] : ["agent", "direct"];
    const lat = {};
    for (const side of order) {
      lat[side] = side === "agent" ? await sequential(agent.url, CFG.latencyRequests, viaAgent, checkAgent) : await sequential(workerOrigin, CFG.latencyRequests, direct, checkDirect);
    }
    const tput = {};
    const cpu = {};
    for (const side of order) {
      const a0 = cpuSeconds(agent.pid);
      const w0 = cpuSeconds(workerPid);
      const res = await closedLoop(side === "agent" ? agent.url : workerOrigin, { connections: CFG.loadConnections, durationMs: CFG.loadDurationMs, make: side === "agent" ? viaAgent : direct });
      if (res.failed > 0) throw new Error(`(a) ${side} load: ${res.failed} failed, first: ${res.firstError}`);
      tput[side] = res.rps;
      // CPU time per request, including the warm-up requests not counted in rps (an upper bound).
      cpu[side] = { agentUsPerReq: ((cpuSeconds(agent.pid) - a0) * 1e6) / res.done, workerUsPerReq: ((cpuSeconds(workerPid) - w0) * 1e6) / res.done };
    }
    const run = {
      directP50: percentile(lat.direct, 50),
      directP99: percentile(lat.direct, 99),
      agentP50: percentile(lat.agent, 50),
      agentP99: percentile(lat.agent, 99),
      directRps: tput.direct,
      agentRps: tput.agent,
      agentCpuUsPerReq: cpu.agent.agentUsPerReq,
      workerCpuUsPerReqDirect: cpu.direct.workerUsPerReq,
      workerCpuUsPerReqAgent: cpu.agent.workerUsPerReq,
      load: loadavg()[0],
    };
    run.addedP50 = run.agentP50 - run.directP50;
    run.addedP99 = run.agentP99 - run.directP99;
    run.throughputRatio = run.agentRps / run.directRps;
    runs.push(run);
    log(`  run ${r + 1}/${RUNS}: added p50 ${round(run.addedP50)} ms, p99 ${round(run.addedP99)} ms; direct ${Math.round(run.directRps)}/s, agent ${Math.round(run.agentRps)}/s (${round(run.throughputRatio * 100, 1)} %); load ${run.load}`);
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return {
    requestsPerRun: CFG.latencyRequests,
    connections: CFG.loadConnections,
    loadDurationMs: CFG.loadDurationMs,
    directP50: s("directP50"),
    directP99: s("directP99"),
    agentP50: s("agentP50"),
    agentP99: s("agentP99"),
    addedP50: s("addedP50"),
    addedP99: s("addedP99"),
    directRps: s("directRps"),
    agentRps: s("agentRps"),
    throughputRatio: s("throughputRatio"),
    agentCpuUsPerReq: s("agentCpuUsPerReq"),
    workerCpuUsPerReqDirect: s("workerCpuUsPerReqDirect"),
    workerCpuUsPerReqAgent: s("workerCpuUsPerReqAgent"),
    targets: {},
  };
}

// ---------------------------------------------------------------- (b) durable spawn throughput
async function benchSpawn(agent) {
  log("(b) durable spawn → result throughput");
  await agent.api.deploy("bspawn", {
    noop: { handler: "handlers:noop", concurrency: { maxInputs: 64 }, autoscaler: { minContainers: 1, maxContainers: 1, scaledownWindow: 3600 } },
  });
  await poll("spawn container ready", async () => (await agent.api.fn("bspawn", "noop")).status.readyReplicas >= 1);
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${agent.token}` };
  const make = (i) => ({ path: "/v1/apps/bspawn/functions/noop/spawn", headers, body: `{"args":[${i}],"kwargs":{}}` });
  // Warm-up: a few hundred spawns, all finished before the measured runs.
  await fixedCount(agent.url, { connections: CFG.spawnConnections, total: 500, make, expectStatus: 202 });
  await poll("warm-up spawns done", async () => (await agent.api.fn("bspawn", "noop")).status.pendingSpawns === 0, { timeoutMs: 120_000 });

  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    const ids = new Array(CFG.spawnTotal);
    const t0 = now();
    const res = await fixedCount(agent.url, {
      connections: CFG.spawnConnections,
      total: CFG.spawnTotal,
      make,
      expectStatus: 202,
      onText: (text, i) => (ids[i] = JSON.parse(text).callId),
    });
    if (res.failed > 0) throw new Error(`(b) ${res.failed} spawns failed, first: ${res.firstError}`);
    const accepted = now();
    await poll("all spawned calls done", async () => {
      const st = (await agent.api.fn("bspawn", "noop")).status;
      return st.pendingSpawns === 0 && st.queueDepth === 0 && st.inFlight === 0;
    }, { timeoutMs: 300_000, everyMs: 5 });
    const done = now();
    // Spot-check results: first, middle and last call succeeded with their own argument.
    for (const i of [0, Math.floor(CFG.spawnTotal / 2), CFG.spawnTotal - 1]) {
      const got = (await agent.api.req("GET", `/v1/calls/${ids[i]}?wait=10`)).body;
      if (got.status !== "succeeded" || got.result !== i) throw new Error(`(b) call ${i} ended ${JSON.stringify(got).slice(0, 300)}`);
    }
    const run = { acceptedPerSec: (CFG.spawnTotal / (accepted - t0)) * 1000, endToEndPerSec: (CFG.spawnTotal / (done - t0)) * 1000, load: loadavg()[0] };
    runs.push(run);
    log(`  run ${r + 1}/${RUNS}: ${Math.round(run.acceptedPerSec)} spawns/s accepted, ${Math.round(run.endToEndPerSec)}/s spawn → done; load ${run.load}`);
  }
  return {
    spawnsPerRun: CFG.spawnTotal,
    connections: CFG.spawnConnections,
    acceptedPerSec: summary(runs.map((x) => x.acceptedPerSec)),
    endToEndPerSec: summary(runs.map((x) => x.endToEndPerSec)),
    targets: {},
  };
}

// ---------------------------------------------------------------- (c) cold start
/** Baseline of the same run: the Python worker started by hand, spawn → its "[warmpool] ready" line. */
async function bareWorkerReadyMs() {
  const port = await new Promise((resolve) => {
    const srv = require_net().createServer().listen(0, "127.0.0.1", () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? "/tmp",
    WARMPOOL_PROTOCOL: "1",
    WARMPOOL_HOST: "127.0.0.1",
    WARMPOOL_PORT: String(port),
    WARMPOOL_HANDLER: "handlers:noop",
    WARMPOOL_APP_DIR: APP_DIR,
    WARMPOOL_MAX_INPUTS: "1",
    WARMPOOL_BATCH_SIZE: "0",
    WARMPOOL_CONTAINER_ID: "bench-bare",
    PYTHONPATH: path.join(AGENT_DIR, "runtimes", "python", "src"),
    PYTHONUNBUFFERED: "1",
  };
  const t0 = now();
  const child = spawn(process.env.BENCH_PYTHON ?? "python3", ["-m", "warmpool.worker"], { cwd: APP_DIR, env, stdio: ["ignore", "ignore", "pipe"] });
  const spawned = now();
  const exited = new Promise((r) => child.once("exit", r));
  try {
    const readyAt = await within(
      30_000,
      "bare worker ready line",
      new Promise((resolve, reject) => {
        let err = "";
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (d) => {
          err += d;
          if (/\[warmpool\][^\n]*ready/.test(err)) resolve(now());
        });
        void exited.then((code) => reject(new Error(`bare worker exited ${code}: ${err}`)));
      }),
    );
    return { spawnMs: spawned - t0, readyMs: readyAt - spawned };
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

let netModule = null;
function require_net() {
  return netModule;
}

async function benchCold() {
  log("(c) cold start of a Python no-op worker");
  netModule = await import("node:net");
  const host = fork(path.join(BENCH_DIR, "cold-host.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise((r) => host.once("exit", r));
  const inbox = [];
  let waiter = null;
  host.on("message", (m) => {
    if (m.type === "error") log(`  host: container failed to start: ${m.error}`);
    inbox.push(m);
    waiter?.();
  });
  const next = (type) =>
    within(60_000, `host message ${type}`, (async () => {
      for (let i = 0; i < 1000; i++) {
        const k = inbox.findIndex((m) => m.type === type);
        if (k >= 0) return inbox.splice(k, 1)[0];
        await new Promise((r) => (waiter = r));
      }
      throw new Error("too many host messages");
    })());
  const hello = await next("ready");
  const pool = new Pool(hello.url, { connections: 2 });
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${hello.token}` };
  const runs = [];
  try {
    for (let r = 0; r < CFG.coldRuns; r++) {
      const app = `bcold${r}`;
      const put = await pool.request({ method: "PUT", path: `/v1/apps/${app}?dir=${encodeURIComponent(APP_DIR)}`, headers, body: JSON.stringify({ name: app, functions: { noop: { handler: "handlers:noop", autoscaler: { minContainers: 0, maxContainers: 1, scaledownWindow: 3600 } } } }) });
      if (put.statusCode !== 200) throw new Error(`deploy ${app}: ${put.statusCode} ${await put.body.text()}`);
      await put.body.dump();
      const bare = await bareWorkerReadyMs();
      const t0 = now();
      const res = await pool.request({ method: "POST", path: `/v1/apps/${app}/functions/noop/call`, headers, body: `{"args":[${r}],"kwargs":{}}` });
      const body = JSON.parse(await res.body.text());
      const total = now() - t0;
      if (body.status !== "succeeded" || body.result !== r) throw new Error(`(c) cold call ${app}: ${JSON.stringify(body).slice(0, 300)}`);
      host.send({ type: "marks", key: `${app}/noop` });
      const { marks: m } = await next("marks");
      const run = {
        totalFirstCallMs: total,
        arrivalToDecisionMs: m.decision - m.arrival,
        decisionToSpawnedMs: m.spawned - m.decision,
        spawnCallMs: m.spawned - m.spawnEnter,
        spawnedToReadyMs: m.ready - m.spawned,
        readyToDispatchMs: m.dispatch - m.ready,
        arrivalToDispatchMs: m.dispatch - m.arrival,
        bareWorkerReadyMs: bare.readyMs,
        load: loadavg()[0],
      };
      runs.push(run);
      log(`  run ${r + 1}/${CFG.coldRuns}: decision ${round(run.arrivalToDecisionMs)} ms, process start ${round(run.decisionToSpawnedMs)} ms, ready ${round(run.spawnedToReadyMs, 1)} ms (bare worker ${round(run.bareWorkerReadyMs, 1)} ms), first call ${round(run.totalFirstCallMs, 1)} ms; load ${run.load}`);
    }
  } finally {
    await pool.close();
    host.send({ type: "close" });
    await within(30_000, "cold host exit", exited).catch(() => host.kill("SIGKILL"));
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return {
    arrivalToDecisionMs: s("arrivalToDecisionMs"),
    decisionToSpawnedMs: s("decisionToSpawnedMs"),
    spawnedToReadyMs: s("spawnedToReadyMs"),
    readyToDispatchMs: s("readyToDispatchMs"),
    totalFirstCallMs: s("totalFirstCallMs"),
    bareWorkerReadyMs: s("bareWorkerReadyMs"),
    targets: {},
  };
}

// ---------------------------------------------------------------- (d) memory with queued inputs
async function benchMemory() {
  log(`(d) agent memory with ${CFG.queuedInputs} queued inputs`);
  const runs = [];
  for (let r = 0; r < CFG.memoryRuns; r++) {
    const agent = await startAgentProcess({ label: "mem", maxPending: CFG.queuedInputs + 1000, cpuProfDir: PROFILE ? PROFILE_DIR : null });
    try {
      await agent.api.deploy("bmem", {
        hold: { handler: "handlers:hold", timeout: 900, concurrency: { maxInputs: 1 }, autoscaler: { minContainers: 0, maxContainers: 1, scaledownWindow: 3600 } },
      });
      const idle = memory(agent.pid);
      const headers = { ...JSON_HEADERS, authorization: `Bearer ${agent.token}` };
      const res = await fixedCount(agent.url, {
        connections: CFG.spawnConnections,
        total: CFG.queuedInputs,
        make: (i) => ({ path: "/v1/apps/bmem/functions/hold/spawn", headers, body: `{"args":[300],"kwargs":{}}` }),
        expectStatus: 202,
        timeoutMs: 400_000,
      });
      if (res.failed > 0 || res.sent !== CFG.queuedInputs) throw new Error(`(d) ${res.failed} spawns failed (sent ${res.sent}), first: ${res.firstError}`);
      const st = (await agent.api.fn("bmem", "hold")).status;
      const full = memory(agent.pid);
      const run = {
        idleRssMiB: idle.rssMiB,
        queuedRssMiB: full.rssMiB,
        hwmMiB: full.hwmMiB,
        queued: st.queueDepth,
        inFlight: st.inFlight,
        acceptedPerSec: (CFG.queuedInputs / res.elapsedMs) * 1000,
        load: loadavg()[0],
      };
      runs.push(run);
      log(`  run ${r + 1}/${CFG.memoryRuns}: RSS ${round(run.idleRssMiB, 1)} MiB idle → ${round(run.queuedRssMiB, 1)} MiB with ${run.queued} queued (+${run.inFlight} running), peak ${round(run.hwmMiB, 1)} MiB; ${Math.round(run.acceptedPerSec)} spawns/s; load ${run.load}`);
    } finally {
      await agent.stop();
    }
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return { queuedInputs: CFG.queuedInputs, idleRssMiB: s("idleRssMiB"), queuedRssMiB: s("queuedRssMiB"), hwmMiB: s("hwmMiB"), queued: s("queued"), acceptedPerSec: s("acceptedPerSec"), targets: {} };
}

// ---------------------------------------------------------------- main
function verdict(ok) {
  return ok ? "met" : "NOT met";
}

async function main() {
  const t0 = now();
  log(`agent benchmark${QUICK ? " (quick)" : ""}: ${RUNS} runs; load average ${results.load.before.join(" ")}`);
  if (!fs.existsSync(path.join(AGENT_DIR, "dist", "src", "cli", "main.js"))) throw new Error("agent is not built: run `npx tsc -b agent` first");
  if (ONLY.has("a") || ONLY.has("b")) {
    const agent = await startAgentProcess({ label: "warm", cpuProfDir: PROFILE ? PROFILE_DIR : null });
    try {
      if (ONLY.has("a")) {
        const a = await benchWarm(agent);
        a.targets = {
          addedP50: { target: "≤ 1 ms", value: a.addedP50.median, verdict: verdict(a.addedP50.median <= 1) },
          addedP99: { target: "≤ 5 ms", value: a.addedP99.median, verdict: verdict(a.addedP99.median <= 5) },
          throughputRatio: { target: "≥ 50 %", value: a.throughputRatio.median, verdict: verdict(a.throughputRatio.median >= 0.5) },
        };
        results.sections.a = a;
      }
      if (ONLY.has("b")) {
        const b = await benchSpawn(agent);
        b.targets = { acceptedPerSec: { target: "≥ 2,000/s", value: b.acceptedPerSec.median, verdict: verdict(b.acceptedPerSec.median >= 2000) } };
        results.sections.b = b;
      }
      results.agentMemoryAfterAB = memory(agent.pid);
    } finally {
      await agent.stop();
    }
  }
  if (ONLY.has("c")) {
    const c = await benchCold();
    c.targets = { decisionToSpawned: { target: "≤ 10 ms", value: c.decisionToSpawnedMs.median, verdict: verdict(c.decisionToSpawnedMs.median <= 10) } };
    results.sections.c = c;
  }
  if (ONLY.has("d")) {
    const d = await benchMemory();
    d.targets = { queuedRss: { target: "≤ 300 MB", value: d.hwmMiB.median * 1.048576, verdict: verdict(d.hwmMiB.median * 1.048576 <= 300) } };
    results.sections.d = d;
  }
  results.load.after = loadavg();
  results.durationS = round((now() - t0) / 1000, 1);
  const file = path.join(RESULTS_DIR, QUICK ? "quick.json" : "latest.json");
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  printTable();
  log(`\nwritten ${path.relative(process.cwd(), file)} (${results.durationS} s; load average before ${results.load.before.join(" ")}, after ${results.load.after.join(" ")})`);
}

function printTable() {
  const rows = [["figure", `median [min – max] over runs`, "target", "verdict"]];
  const S = results.sections;
  if (S.a) {
    rows.push(["(a) direct POST /invoke p50 / p99", `${ms(S.a.directP50)} / ${ms(S.a.directP99)}`, "", ""]);
    rows.push(["(a) through agent /call p50 / p99", `${ms(S.a.agentP50)} / ${ms(S.a.agentP99)}`, "", ""]);
    rows.push(["(a) added latency p50", ms(S.a.addedP50), "≤ 1 ms", S.a.targets.addedP50.verdict]);
    rows.push(["(a) added latency p99", ms(S.a.addedP99), "≤ 5 ms", S.a.targets.addedP99.verdict]);
    rows.push([`(a) throughput direct, ${S.a.connections} conns`, `${Math.round(S.a.directRps.median)}/s [${Math.round(S.a.directRps.min)} – ${Math.round(S.a.directRps.max)}]`, "", ""]);
    rows.push([`(a) throughput via agent, ${S.a.connections} conns`, `${Math.round(S.a.agentRps.median)}/s [${Math.round(S.a.agentRps.min)} – ${Math.round(S.a.agentRps.max)}]`, "", ""]);
    rows.push(["(a) throughput ratio agent/direct", `${round(S.a.throughputRatio.median * 100, 1)} % [${round(S.a.throughputRatio.min * 100, 1)} – ${round(S.a.throughputRatio.max * 100, 1)}]`, "≥ 50 %", S.a.targets.throughputRatio.verdict]);
    rows.push(["(a) agent CPU per call under load", `${Math.round(S.a.agentCpuUsPerReq.median)} µs [${Math.round(S.a.agentCpuUsPerReq.min)} – ${Math.round(S.a.agentCpuUsPerReq.max)}]`, "", ""]);
  }
  if (S.b) {
    rows.push([`(b) durable spawns accepted (${S.b.spawnsPerRun}/run)`, `${Math.round(S.b.acceptedPerSec.median)}/s [${Math.round(S.b.acceptedPerSec.min)} – ${Math.round(S.b.acceptedPerSec.max)}]`, "≥ 2,000/s", S.b.targets.acceptedPerSec.verdict]);
    rows.push(["(b) spawn → all results done", `${Math.round(S.b.endToEndPerSec.median)}/s [${Math.round(S.b.endToEndPerSec.min)} – ${Math.round(S.b.endToEndPerSec.max)}]`, "", ""]);
  }
  if (S.c) {
    rows.push(["(c) input arrives → scale decision", ms(S.c.arrivalToDecisionMs), "", ""]);
    rows.push(["(c) decision → process spawned", ms(S.c.decisionToSpawnedMs), "≤ 10 ms", S.c.targets.decisionToSpawned.verdict]);
    rows.push(["(c) spawned → /ready 200 seen by agent", ms(S.c.spawnedToReadyMs), "", ""]);
    rows.push(["(c)   bare worker spawn → ready line", ms(S.c.bareWorkerReadyMs), "", ""]);
    rows.push(["(c) total first call (client)", ms(S.c.totalFirstCallMs), "", ""]);
  }
  if (S.d) {
    rows.push(["(d) agent RSS idle", `${round(S.d.idleRssMiB.median, 1)} MiB [${round(S.d.idleRssMiB.min, 1)} – ${round(S.d.idleRssMiB.max, 1)}]`, "", ""]);
    rows.push([`(d) agent RSS, ${S.d.queuedInputs} queued`, `${round(S.d.queuedRssMiB.median, 1)} MiB [${round(S.d.queuedRssMiB.min, 1)} – ${round(S.d.queuedRssMiB.max, 1)}]`, "", ""]);
    rows.push(["(d) agent peak RSS (VmHWM)", `${round(S.d.hwmMiB.median, 1)} MiB [${round(S.d.hwmMiB.min, 1)} – ${round(S.d.hwmMiB.max, 1)}]`, "≤ 300 MB", S.d.targets.queuedRss.verdict]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  process.stdout.write(`\n${line(rows[0])}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n${rows.slice(1).map(line).join("\n")}\n`);
}

main().catch((err) => {
  log(`bench:agent failed: ${err.stack ?? err}`);
  process.exit(1);
});
