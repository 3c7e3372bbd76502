#!/usr/bin/env node
// The agent benchmark (`npm run bench:agent`, `-- --quick` for a smoke run): a real agent process in
// local mode, real Python workers on loopback, and
//   (a) warm no-op call through the agent vs the same worker's POST /invoke: added latency p50/p99
//       (sequential) and throughput ratio (closed-loop, same connections both ways), same run;
//   (b) durable spawns accepted per second, and spawn → all results done per second;
//   (c) cold start of a Python no-op worker: decision, process start, ready, total first call;
//   (d) agent RSS with 100,000 queued spawned calls;
//   (e) web endpoints (function and web-server) through the agent vs the worker directly vs nginx
//       (agent/bench/endpoints.mjs);
//   (f) container output: a worker printing N MB of 100-byte lines (which the agent reads from its
//       pipe and writes as timed records) vs the same worker writing them line-buffered to a file of
//       its own (as its stdout wrote the log file before): call time ratio and the agent's CPU per MB.
// Every figure is a median over repeated runs with its spread; every ratio is against a baseline
// measured in the same run. Results: a table on stdout and agent/bench/results/latest.json.
//
// Flags: --quick (small counts, 3 runs), --smoke (tiny counts, 1 run: checks the harness works),
// --out <file> (where the JSON goes), --no-diagnose (skip (b)'s fsync on/off diagnosis), --only a,b,c,d, --runs N, --profile (agent processes of a,
// b and d run under node --cpu-prof; profiles go to agent/bench/results/profiles/).
import { execFileSync, fork, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { Pool } from "undici";
import {
  Api,
  APP_DIR,
  BENCH_DIR,
  AGENT_DIR,
  closedLoop,
  cpuSeconds,
  interleaved,
  fixedCount,
  loadavg,
  memory,
  now,
  percentile,
  poll,
  sequential,
  startAgentProcess,
  summary,
  within,
  workerHeaders,
} from "./lib.mjs";

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const SMOKE = flag("smoke");
const QUICK = flag("quick") || SMOKE;
const ONLY = new Set((value("only") ?? "a,b,c,d,e,f").split(","));
const RUNS = Number(value("runs") ?? (SMOKE ? 1 : QUICK ? 3 : 5));
const PROFILE = flag("profile");
const RESULTS_DIR = path.join(BENCH_DIR, "results");
const PROFILE_DIR = path.join(RESULTS_DIR, "profiles");
fs.mkdirSync(RESULTS_DIR, { recursive: true });
if (PROFILE) fs.mkdirSync(PROFILE_DIR, { recursive: true });

const CFG = {
  latencyRequests: SMOKE ? 50 : QUICK ? 500 : 3000,
  latencyWarmup: SMOKE ? 20 : QUICK ? 100 : 300,
  loadConnections: Number(value("connections") ?? 16),
  loadDurationMs: SMOKE ? 300 : QUICK ? 1000 : 3000,
  loadWarmupMs: SMOKE ? 100 : 500,
  spawnWarmup: SMOKE ? 50 : QUICK ? 500 : 2000,
  spawnTotal: SMOKE ? 300 : QUICK ? 2000 : 10_000,
  spawnConnections: 64,
  queuedInputs: Number(value("queued") ?? (QUICK ? 10_000 : 100_000)),
  memoryRuns: QUICK ? 1 : RUNS,
  outputMb: SMOKE ? 1 : QUICK ? 20 : 100,
  coldRuns: QUICK ? 3 : Math.max(RUNS, 7),
};

const log = (...a) => process.stderr.write(`${a.join(" ")}\n`);
const round = (x, d = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const ms = (s) => `${round(s.median, 3)} ms [${round(s.min, 3)} – ${round(s.max, 3)}]`;

const results = {
  startedAt: new Date().toISOString(),
  command: `npm run bench:agent${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
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
  const toWorker = workerHeaders(agent, "bwarm");
  const direct = (i) => ({ path: "/invoke", headers: toWorker, body: `{"inputs":[{"id":"d-${i}","args":[${i}],"kwargs":{}}]}` });
  const checkAgent = (text, i) => {
    const r = JSON.parse(text);
    if (r.status !== "succeeded" || r.result !== i) throw new Error(`agent answered ${text.slice(0, 200)} for ${i}`);
  };
  const checkDirect = (text, i) => {
    const r = JSON.parse(text).outputs[0];
    if (!r.ok || r.value !== i) throw new Error(`worker answered ${text.slice(0, 200)} for ${i}`);
  };
  // The floor: a bare Node HTTP hop to the same worker (floor-proxy.mjs), in its own process.
  const floor = fork(path.join(BENCH_DIR, "floor-proxy.mjs"), [workerOrigin, toWorker.authorization], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=floor-${Date.now()}.cpuprofile`] : [],
  });
  const floorExited = new Promise((r) => floor.once("exit", r));
  const floorPort = (await within(10_000, "floor proxy start", new Promise((r) => floor.once("message", r)))).port;
  const floorOrigin = `http://127.0.0.1:${floorPort}`;
  const viaFloor = (i) => ({ path: "/v1/apps/bwarm/functions/noop/call", headers: JSON_HEADERS, body: `{"args":[${i}],"kwargs":{}}` });
  const sides = {
    direct: { origin: workerOrigin, make: direct, check: checkDirect, pid: null },
    agent: { origin: agent.url, make: viaAgent, check: checkAgent, pid: agent.pid },
    floor: { origin: floorOrigin, make: viaFloor, check: checkAgent, pid: floor.pid },
  };
  const runs = [];
  try {
    // Warm every path (connections, JIT, the worker's threads).
    for (const side of Object.values(sides)) await sequential(side.origin, CFG.latencyWarmup, side.make, side.check);
    for (let r = 0; r < RUNS; r++) {
      // Rotate the order so that no side always runs first or last.
      const names = ["direct", "agent", "floor"];
      const order = [...names.slice(r % 3), ...names.slice(0, r % 3)];
      const lat = await interleaved(sides, CFG.latencyRequests);
      const tput = {};
      const cpu = {};
      for (const name of order) {
        const side = sides[name];
        let a0 = 0;
        let w0 = 0;
        let a1 = 0;
        let w1 = 0;
        const res = await closedLoop(side.origin, {
          connections: CFG.loadConnections,
          durationMs: CFG.loadDurationMs,
          warmupMs: CFG.loadWarmupMs,
          make: side.make,
          onStart: () => {
            a0 = side.pid === null ? 0 : cpuSeconds(side.pid);
            w0 = cpuSeconds(workerPid);
          },
          onStop: () => {
            a1 = side.pid === null ? 0 : cpuSeconds(side.pid);
            w1 = cpuSeconds(workerPid);
          },
        });
        if (res.failed > 0) throw new Error(`(a) ${name} load: ${res.failed} failed, first: ${res.firstError}`);
        tput[name] = res.rps;
        // CPU time (user + system, 10 ms ticks) per completed request in the measured window.
        cpu[name] = { hopUsPerReq: ((a1 - a0) * 1e6) / res.done, workerUsPerReq: ((w1 - w0) * 1e6) / res.done };
      }
      const run = {
        directP50: percentile(lat.direct, 50),
        directP99: percentile(lat.direct, 99),
        agentP50: percentile(lat.agent, 50),
        agentP99: percentile(lat.agent, 99),
        floorP50: percentile(lat.floor, 50),
        floorP99: percentile(lat.floor, 99),
        directRps: tput.direct,
        agentRps: tput.agent,
        floorRps: tput.floor,
        agentCpuUsPerReq: cpu.agent.hopUsPerReq,
        floorCpuUsPerReq: cpu.floor.hopUsPerReq,
        workerCpuUsPerReq: cpu.direct.workerUsPerReq,
        load: loadavg()[0],
      };
      run.addedP50 = run.agentP50 - run.directP50;
      run.addedP99 = run.agentP99 - run.directP99;
      run.floorAddedP50 = run.floorP50 - run.directP50;
      run.floorAddedP99 = run.floorP99 - run.directP99;
      run.throughputRatio = run.agentRps / run.directRps;
      run.floorThroughputRatio = run.floorRps / run.directRps;
      runs.push(run);
      log(
        `  run ${r + 1}/${RUNS}: added p50 ${round(run.addedP50)} ms, p99 ${round(run.addedP99)} ms (bare hop ${round(run.floorAddedP50)} / ${round(run.floorAddedP99)}); ` +
          `direct ${Math.round(run.directRps)}/s, agent ${Math.round(run.agentRps)}/s (${round(run.throughputRatio * 100, 1)} %), bare hop ${Math.round(run.floorRps)}/s (${round(run.floorThroughputRatio * 100, 1)} %); ` +
          `CPU/call agent ${Math.round(run.agentCpuUsPerReq)} µs, bare hop ${Math.round(run.floorCpuUsPerReq)} µs, worker ${Math.round(run.workerCpuUsPerReq)} µs; load ${run.load}`,
      );
    }
  } finally {
    floor.send("close");
    await within(10_000, "floor proxy exit", floorExited).catch(() => floor.kill("SIGKILL"));
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  const keys = [
    "directP50",
    "directP99",
    "agentP50",
    "agentP99",
    "floorP50",
    "floorP99",
    "addedP50",
    "addedP99",
    "floorAddedP50",
    "floorAddedP99",
    "directRps",
    "agentRps",
    "floorRps",
    "throughputRatio",
    "floorThroughputRatio",
    "agentCpuUsPerReq",
    "floorCpuUsPerReq",
    "workerCpuUsPerReq",
  ];
  return { requestsPerRun: CFG.latencyRequests, connections: CFG.loadConnections, loadDurationMs: CFG.loadDurationMs, ...Object.fromEntries(keys.map((k) => [k, s(k)])), targets: {} };
}

// ---------------------------------------------------------------- (b) durable spawn throughput
async function benchSpawn(agent, { runs: RUNS_B = RUNS, label = "" } = {}) {
  log(`(b) durable spawn → result throughput${label}`);
  await agent.api.deploy("bspawn", {
    noop: { handler: "handlers:noop", concurrency: { maxInputs: 64 }, autoscaler: { minContainers: 1, maxContainers: 1, scaledownWindow: 3600 } },
  });
  await poll("spawn container ready", async () => (await agent.api.fn("bspawn", "noop")).status.readyReplicas >= 1);
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${agent.token}` };
  const make = (i) => ({ path: "/v1/apps/bspawn/functions/noop/spawn", headers, body: `{"args":[${i}],"kwargs":{}}` });
  // Warm-up: a few hundred spawns, all finished before the measured runs.
  await fixedCount(agent.url, { connections: CFG.spawnConnections, total: CFG.spawnWarmup, make, expectStatus: 202 });
  await poll("warm-up spawns done", async () => (await agent.api.fn("bspawn", "noop")).status.pendingSpawns === 0, { timeoutMs: 120_000 });

  const runs = [];
  if (agent.ask) await agent.ask("commits");
  for (let r = 0; r < RUNS_B; r++) {
    const ids = new Array(CFG.spawnTotal);
    const cpu0 = cpuSeconds(agent.pid);
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
    await poll(
      "all spawned calls done",
      async () => {
        const st = (await agent.api.fn("bspawn", "noop")).status;
        return st.pendingSpawns === 0 && st.queueDepth === 0 && st.inFlight === 0;
      },
      { timeoutMs: 300_000, everyMs: 5 },
    );
    const done = now();
    const cpuUsPerSpawn = ((cpuSeconds(agent.pid) - cpu0) * 1e6) / CFG.spawnTotal;
    const commits = agent.ask ? (await agent.ask("commits")).commits : null;
    // Spot-check results: first, middle and last call succeeded with their own argument.
    for (const i of [0, Math.floor(CFG.spawnTotal / 2), CFG.spawnTotal - 1]) {
      const got = (await agent.api.req("GET", `/v1/calls/${ids[i]}?wait=10`)).body;
      if (got.status !== "succeeded" || got.result !== i) throw new Error(`(b) call ${i} ended ${JSON.stringify(got).slice(0, 300)}`);
    }
    const run = { acceptedPerSec: (CFG.spawnTotal / (accepted - t0)) * 1000, endToEndPerSec: (CFG.spawnTotal / (done - t0)) * 1000, cpuUsPerSpawn, load: loadavg()[0] };
    if (commits !== null) {
      run.commitsPerSec = (commits.count / (done - t0)) * 1000;
      run.opsPerCommit = commits.ops / Math.max(1, commits.count);
      run.commitMsMean = commits.ms / Math.max(1, commits.count);
      run.commitShareOfWall = commits.ms / (done - t0);
    }
    runs.push(run);
    const extra =
      commits === null
        ? ""
        : `; ${Math.round(run.commitsPerSec)} commits/s of ${round(run.opsPerCommit, 1)} writes, ${round(run.commitMsMean)} ms each = ${round(run.commitShareOfWall * 100, 1)} % of the time`;
    log(
      `  run ${r + 1}/${RUNS_B}: ${Math.round(run.acceptedPerSec)} spawns/s accepted, ${Math.round(run.endToEndPerSec)}/s spawn → done, agent CPU ${Math.round(run.cpuUsPerSpawn)} µs/spawn${extra}; load ${run.load}`,
    );
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return {
    spawnsPerRun: CFG.spawnTotal,
    connections: CFG.spawnConnections,
    acceptedPerSec: s("acceptedPerSec"),
    endToEndPerSec: s("endToEndPerSec"),
    cpuUsPerSpawn: s("cpuUsPerSpawn"),
    ...(runs[0].commitsPerSec === undefined ? {} : { commitsPerSec: s("commitsPerSec"), opsPerCommit: s("opsPerCommit"), commitMsMean: s("commitMsMean"), commitShareOfWall: s("commitShareOfWall") }),
    targets: {},
  };
}

// ---------------------------------------------------------------- (c) cold start
/** Baseline of the same run: the Python worker started by hand, spawn → its "[warmpool] ready" line. */
async function bareWorkerReadyMs() {
  const port = await new Promise((resolve) => {
    const srv = require_net()
      .createServer()
      .listen(0, "127.0.0.1", () => {
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

/** Starts host.mjs (the instrumented in-process agent) with extra Agent options. */
async function startHost(options = {}) {
  const host = fork(path.join(BENCH_DIR, "host.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, BENCH_AGENT_OPTIONS: JSON.stringify(options) } });
  const exited = new Promise((r) => host.once("exit", r));
  const inbox = [];
  let waiter = null;
  host.on("message", (m) => {
    if (m.type === "error") log(`  host: container failed to start: ${m.error}`);
    inbox.push(m);
    waiter?.();
  });
  const next = (type) =>
    within(
      60_000,
      `host message ${type}`,
      (async () => {
        for (let i = 0; i < 1000; i++) {
          const k = inbox.findIndex((m) => m.type === type);
          if (k >= 0) return inbox.splice(k, 1)[0];
          await new Promise((r) => (waiter = r));
        }
        throw new Error("too many host messages");
      })(),
    );
  const hello = await next("ready");
  const api = new Api(hello.url, hello.token);
  return {
    url: hello.url,
    token: hello.token,
    pid: host.pid,
    api,
    async ask(type, extra = {}) {
      host.send({ type, ...extra });
      return next(type);
    },
    async stop() {
      await api.close();
      host.send({ type: "close" });
      await within(30_000, "host exit", exited).catch(() => host.kill("SIGKILL"));
      fs.rmSync(hello.stateDir, { recursive: true, force: true });
    },
  };
}

async function benchCold() {
  log("(c) cold start of a Python no-op worker");
  netModule = await import("node:net");
  const host = await startHost();
  const hello = host;
  const pool = new Pool(hello.url, { connections: 2 });
  const headers = { ...JSON_HEADERS, authorization: `Bearer ${hello.token}` };
  const runs = [];
  try {
    const deploy = async (app) => {
      const put = await pool.request({
        method: "PUT",
        path: `/v1/apps/${app}?dir=${encodeURIComponent(APP_DIR)}`,
        headers,
        body: JSON.stringify({ name: app, functions: { noop: { handler: "handlers:noop", autoscaler: { minContainers: 0, maxContainers: 1, scaledownWindow: 3600 } } } }),
      });
      if (put.statusCode !== 200) throw new Error(`deploy ${app}: ${put.statusCode} ${await put.body.text()}`);
      await put.body.dump();
    };
    const coldCall = async (app, arg) => {
      const t0 = now();
      const res = await pool.request({ method: "POST", path: `/v1/apps/${app}/functions/noop/call`, headers, body: `{"args":[${arg}],"kwargs":{}}` });
      const body = JSON.parse(await res.body.text());
      const total = now() - t0;
      if (body.status !== "succeeded" || body.result !== arg) throw new Error(`(c) cold call ${app}: ${JSON.stringify(body).slice(0, 300)}`);
      const { marks } = await host.ask("marks", { key: `${app}/noop` });
      return { total, m: marks };
    };
    for (let r = 0; r < CFG.coldRuns; r++) {
      const app = `bcold${r}`;
      const experiment = `bcoldpoll${r}`;
      await deploy(app);
      await deploy(experiment);
      const bare = await bareWorkerReadyMs();
      // The agent as it is, and (alternating order) the experiment with readiness polled every 5 ms.
      let main;
      let exp;
      if (r % 2 === 0) {
        main = await coldCall(app, r);
        exp = await coldCall(experiment, r);
      } else {
        exp = await coldCall(experiment, r);
        main = await coldCall(app, r);
      }
      const m = main.m;
      const run = {
        totalFirstCallMs: main.total,
        arrivalToDecisionMs: m.decision - m.arrival,
        decisionToSpawnedMs: m.spawned - m.decision,
        spawnCallMs: m.spawned - m.spawnEnter,
        freePortMs: m.freePortMs,
        spawnSyscallMs: m.spawnSyscallMs,
        spawnedToReadyMs: m.ready - m.spawned,
        readyToDispatchMs: m.dispatch - m.ready,
        arrivalToDispatchMs: m.dispatch - m.arrival,
        bareWorkerReadyMs: bare.readyMs,
        poll5SpawnedToReadyMs: exp.m.ready - exp.m.spawned,
        poll5TotalFirstCallMs: exp.total,
        load: loadavg()[0],
      };
      runs.push(run);
      log(
        `  run ${r + 1}/${CFG.coldRuns}: decision ${round(run.arrivalToDecisionMs)} ms, process start ${round(run.decisionToSpawnedMs)} ms (free port ${round(run.freePortMs)}, spawn() ${round(run.spawnSyscallMs)}), ready ${round(run.spawnedToReadyMs, 1)} ms (bare worker ${round(run.bareWorkerReadyMs, 1)} ms; polled every 5 ms: ${round(run.poll5SpawnedToReadyMs, 1)} ms), first call ${round(run.totalFirstCallMs, 1)} ms (polled: ${round(run.poll5TotalFirstCallMs, 1)} ms); load ${run.load}`,
      );
    }
  } finally {
    await pool.close();
    await host.stop();
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return {
    arrivalToDecisionMs: s("arrivalToDecisionMs"),
    decisionToSpawnedMs: s("decisionToSpawnedMs"),
    freePortMs: s("freePortMs"),
    spawnSyscallMs: s("spawnSyscallMs"),
    spawnedToReadyMs: s("spawnedToReadyMs"),
    readyToDispatchMs: s("readyToDispatchMs"),
    totalFirstCallMs: s("totalFirstCallMs"),
    bareWorkerReadyMs: s("bareWorkerReadyMs"),
    poll5SpawnedToReadyMs: s("poll5SpawnedToReadyMs"),
    poll5TotalFirstCallMs: s("poll5TotalFirstCallMs"),
    targets: {},
  };
}

// ---------------------------------------------------------------- (f) container output
async function benchOutput() {
  log(`(f) container output: ${CFG.outputMb} MB printed vs written to a file, ${RUNS} runs`);
  const agent = await startAgentProcess({ label: "bench-output" });
  try {
    await agent.api.deploy("bout", { spew: { handler: "handlers:spew", autoscaler: { minContainers: 1, maxContainers: 1, scaledownWindow: 3600 } } });
    await poll("output container ready", async () => (await agent.api.fn("bout", "spew")).containers.some((c) => c.state === "ready"));
    const lines = CFG.outputMb * 10_000;
    const one = async (toFile) => {
      const cpu0 = cpuSeconds(agent.pid);
      const t0 = now();
      const r = await agent.api.call("bout", "spew", [CFG.outputMb, toFile]);
      const wallMs = now() - t0;
      if (r.status !== "succeeded" || r.result !== lines) throw new Error(`(f) spew: ${JSON.stringify(r).slice(0, 300)}`);
      return { wallMs, agentCpuS: cpuSeconds(agent.pid) - cpu0 };
    };
    await one(true);
    await one(false);
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      // Alternating order, so that neither always runs on a warmer machine.
      let file;
      let printed;
      if (r % 2 === 0) {
        file = await one(true);
        printed = await one(false);
      } else {
        printed = await one(false);
        file = await one(true);
      }
      runs.push({
        fileMs: file.wallMs,
        printMs: printed.wallMs,
        ratio: printed.wallMs / file.wallMs,
        agentCpuMsPerMb: (printed.agentCpuS * 1000) / CFG.outputMb,
        fileAgentCpuMsPerMb: (file.agentCpuS * 1000) / CFG.outputMb,
      });
      log(
        `  run ${r + 1}/${RUNS}: to a file ${round(file.wallMs, 1)} ms, printed ${round(printed.wallMs, 1)} ms (×${round(printed.wallMs / file.wallMs, 2)}), agent CPU ${round((printed.agentCpuS * 1000) / CFG.outputMb, 1)} ms/MB`,
      );
    }
    const logs = path.join(agent.stateDir, "logs", "bout", "spew");
    // Every printed line is in the log, as a whole-line stdout record.
    const record = ` stdout F ${"x".repeat(99)}`;
    let recorded = 0;
    for (const f of fs.readdirSync(logs)) {
      const lines = readline.createInterface({ input: fs.createReadStream(path.join(logs, f)), crlfDelay: Infinity });
      for await (const l of lines) if (l.endsWith(record)) recorded++;
    }
    const s = (k) => summary(runs.map((x) => x[k]));
    return {
      mb: CFG.outputMb,
      fileMs: s("fileMs"),
      printMs: s("printMs"),
      ratio: s("ratio"),
      agentCpuMsPerMb: s("agentCpuMsPerMb"),
      fileAgentCpuMsPerMb: s("fileAgentCpuMsPerMb"),
      recordedLines: recorded,
      printedLines: lines * (RUNS + 1),
    };
  } finally {
    await agent.stop();
  }
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
      const cpu0 = cpuSeconds(agent.pid);
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
        cpuUsPerAccept: ((cpuSeconds(agent.pid) - cpu0) * 1e6) / CFG.queuedInputs,
        load: loadavg()[0],
      };
      runs.push(run);
      log(
        `  run ${r + 1}/${CFG.memoryRuns}: RSS ${round(run.idleRssMiB, 1)} MiB idle → ${round(run.queuedRssMiB, 1)} MiB with ${run.queued} queued (+${run.inFlight} running), peak ${round(run.hwmMiB, 1)} MiB; ${Math.round(run.acceptedPerSec)} spawns/s, agent CPU ${Math.round(run.cpuUsPerAccept)} µs/spawn; load ${run.load}`,
      );
    } finally {
      await agent.stop();
    }
  }
  const s = (k) => summary(runs.map((x) => x[k]));
  return {
    queuedInputs: CFG.queuedInputs,
    idleRssMiB: s("idleRssMiB"),
    queuedRssMiB: s("queuedRssMiB"),
    hwmMiB: s("hwmMiB"),
    queued: s("queued"),
    acceptedPerSec: s("acceptedPerSec"),
    cpuUsPerAccept: s("cpuUsPerAccept"),
    targets: {},
  };
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
  if (ONLY.has("b") && !flag("no-diagnose")) {
    // Where (b)'s time goes: the same benchmark against the instrumented host, with fsync on (the
    // default) and off (synchronous=NORMAL), alternating, so the two are compared in the same run.
    const diag = { fsyncOn: [], fsyncOff: [] };
    const runsEach = QUICK ? 1 : 2;
    for (let r = 0; r < runsEach; r++) {
      for (const fsync of r % 2 === 0 ? [true, false] : [false, true]) {
        const host = await startHost({ fsync });
        try {
          const res = await benchSpawn(host, { runs: 1, label: ` — instrumented, fsync ${fsync ? "on" : "off"}` });
          diag[fsync ? "fsyncOn" : "fsyncOff"].push(res);
        } finally {
          await host.stop();
        }
      }
    }
    const pick = (list, k) => summary(list.map((x) => x[k].median));
    results.sections.bDiagnosis = Object.fromEntries(
      Object.entries(diag).map(([k, list]) => [
        k,
        Object.fromEntries(["acceptedPerSec", "endToEndPerSec", "cpuUsPerSpawn", "commitsPerSec", "opsPerCommit", "commitMsMean", "commitShareOfWall"].map((f) => [f, pick(list, f)])),
      ]),
    );
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
  if (ONLY.has("e")) {
    // (e) web endpoints vs direct vs nginx: agent/bench/endpoints.mjs, its own agent process; table on stderr, JSON in results/endpoints.json.
    execFileSync(process.execPath, [path.join(BENCH_DIR, "endpoints.mjs"), ...(SMOKE ? ["--smoke"] : QUICK ? ["--quick"] : []), ...(value("runs") === undefined ? [] : ["--runs", value("runs")])], {
      stdio: "inherit",
    });
  }
  if (ONLY.has("f")) results.sections.f = await benchOutput();
  results.load.after = loadavg();
  results.durationS = round((now() - t0) / 1000, 1);
  const file = value("out") ?? path.join(RESULTS_DIR, SMOKE ? "smoke.json" : QUICK ? "quick.json" : "latest.json");
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
    rows.push([
      "(a) throughput ratio agent/direct",
      `${round(S.a.throughputRatio.median * 100, 1)} % [${round(S.a.throughputRatio.min * 100, 1)} – ${round(S.a.throughputRatio.max * 100, 1)}]`,
      "≥ 50 %",
      S.a.targets.throughputRatio.verdict,
    ]);
    rows.push(["(a) bare Node hop: added p50 / p99", `${ms(S.a.floorAddedP50)} / ${ms(S.a.floorAddedP99)}`, "", ""]);
    rows.push([
      "(a) bare Node hop: throughput ratio",
      `${round(S.a.floorThroughputRatio.median * 100, 1)} % [${round(S.a.floorThroughputRatio.min * 100, 1)} – ${round(S.a.floorThroughputRatio.max * 100, 1)}]`,
      "",
      "",
    ]);
    const us = (x) => `${Math.round(x.median)} µs [${Math.round(x.min)} – ${Math.round(x.max)}]`;
    rows.push(["(a) CPU per call: agent", us(S.a.agentCpuUsPerReq), "", ""]);
    rows.push(["(a) CPU per call: bare Node hop", us(S.a.floorCpuUsPerReq), "", ""]);
    rows.push(["(a) CPU per call: Python worker", us(S.a.workerCpuUsPerReq), "", ""]);
  }
  if (S.b) {
    rows.push([
      `(b) durable spawns accepted (${S.b.spawnsPerRun}/run)`,
      `${Math.round(S.b.acceptedPerSec.median)}/s [${Math.round(S.b.acceptedPerSec.min)} – ${Math.round(S.b.acceptedPerSec.max)}]`,
      "≥ 2,000/s",
      S.b.targets.acceptedPerSec.verdict,
    ]);
    rows.push(["(b) spawn → all results done", `${Math.round(S.b.endToEndPerSec.median)}/s [${Math.round(S.b.endToEndPerSec.min)} – ${Math.round(S.b.endToEndPerSec.max)}]`, "", ""]);
  }
  if (S.b) rows.push(["(b) agent CPU per spawned call", `${Math.round(S.b.cpuUsPerSpawn.median)} µs [${Math.round(S.b.cpuUsPerSpawn.min)} – ${Math.round(S.b.cpuUsPerSpawn.max)}]`, "", ""]);
  if (S.bDiagnosis) {
    for (const [k, d] of Object.entries(S.bDiagnosis)) {
      const name = k === "fsyncOn" ? "fsync on" : "fsync off";
      rows.push([`(b) instrumented, ${name}: accepted`, `${Math.round(d.acceptedPerSec.median)}/s [${Math.round(d.acceptedPerSec.min)} – ${Math.round(d.acceptedPerSec.max)}]`, "", ""]);
      rows.push([
        `(b) instrumented, ${name}: commits`,
        `${Math.round(d.commitsPerSec.median)}/s × ${round(d.commitMsMean.median)} ms = ${round(d.commitShareOfWall.median * 100, 1)} % of wall`,
        "",
        "",
      ]);
    }
  }
  if (S.c) {
    rows.push(["(c) input arrives → scale decision", ms(S.c.arrivalToDecisionMs), "", ""]);
    rows.push(["(c) decision → process spawned", ms(S.c.decisionToSpawnedMs), "≤ 10 ms", S.c.targets.decisionToSpawned.verdict]);
    rows.push(["(c)   of which: free-port probe", ms(S.c.freePortMs), "", ""]);
    rows.push(["(c)   of which: child_process.spawn()", ms(S.c.spawnSyscallMs), "", ""]);
    rows.push(["(c) spawned → /ready 200 seen by agent", ms(S.c.spawnedToReadyMs), "", ""]);
    rows.push(["(c)   bare worker spawn → ready line", ms(S.c.bareWorkerReadyMs), "", ""]);
    rows.push(["(c) total first call (client)", ms(S.c.totalFirstCallMs), "", ""]);
    rows.push(["(c) experiment, /ready polled every 5 ms: ready", ms(S.c.poll5SpawnedToReadyMs), "", ""]);
    rows.push(["(c) experiment, /ready polled every 5 ms: first call", ms(S.c.poll5TotalFirstCallMs), "", ""]);
  }
  if (S.d) {
    rows.push(["(d) agent RSS idle", `${round(S.d.idleRssMiB.median, 1)} MiB [${round(S.d.idleRssMiB.min, 1)} – ${round(S.d.idleRssMiB.max, 1)}]`, "", ""]);
    rows.push([`(d) agent RSS, ${S.d.queuedInputs} queued`, `${round(S.d.queuedRssMiB.median, 1)} MiB [${round(S.d.queuedRssMiB.min, 1)} – ${round(S.d.queuedRssMiB.max, 1)}]`, "", ""]);
    rows.push(["(d) agent peak RSS (VmHWM)", `${round(S.d.hwmMiB.median, 1)} MiB [${round(S.d.hwmMiB.min, 1)} – ${round(S.d.hwmMiB.max, 1)}]`, "≤ 300 MB", S.d.targets.queuedRss.verdict]);
  }
  if (S.f) {
    rows.push([`(f) ${S.f.mb} MB written to a file: call`, ms(S.f.fileMs), "", ""]);
    rows.push([`(f) ${S.f.mb} MB printed: call`, ms(S.f.printMs), "", ""]);
    rows.push(["(f) printed ÷ to a file", `×${round(S.f.ratio.median, 2)} [${round(S.f.ratio.min, 2)} – ${round(S.f.ratio.max, 2)}]`, "", ""]);
    rows.push([
      "(f) agent CPU per MB printed",
      `${round(S.f.agentCpuMsPerMb.median, 1)} ms [${round(S.f.agentCpuMsPerMb.min, 1)} – ${round(S.f.agentCpuMsPerMb.max, 1)}] (to a file: ${round(S.f.fileAgentCpuMsPerMb.median, 1)} ms)`,
      "",
      "",
    ]);
    rows.push(["(f) lines recorded / printed", `${S.f.recordedLines} / ${S.f.printedLines}`, "", ""]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  process.stdout.write(`\n${line(rows[0])}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n${rows.slice(1).map(line).join("\n")}\n`);
}

main().catch((err) => {
  log(`bench:agent failed: ${err.stack ?? err}`);
  process.exit(1);
});
