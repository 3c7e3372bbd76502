/**
 * `npm run bench:autoscaler -- --real`: the burst scenario on a real agent, to show that the simulation
 * and the agent agree. Every duration is scaled by 0.1 — cold start 20 → 2 s, service 3 → 0.3 s,
 * scaledownWindow 60 → 6 s, bursts 180 → 18 s apart — except the agent's autoscaler tick, which stays
 * 1 s in both (the CLI has no flag for it, and the simulation uses the agent's default).
 *
 * Each run starts `warmpool dev` (local backend, sandboxed workers) on an app in a fresh directory whose
 * Python class sleeps the scaled cold start in `@enter` and the scaled service time per call
 * (real-app/handlers.py), fires the bursts, waits until every container has stopped, and reads from the
 * agent's own log events what it did: `container.ready` (its startMs + readyMs give when the start
 * began) and `container.stopped`. Waits come from the handler: when it began minus when the client sent
 * the call, one clock on one machine.
 *
 * The simulation is run at the same scale twice: with the nominal 2 s cold start, and with the cold start
 * the real containers took (median over the runs: interpreter start, imports and sandbox come on top of
 * the 2 s sleep); each at ten phases of the agent's tick against the bursts (0, 0.1, … 0.9 s).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Pool } from "undici";
import { simulate, type RunResult } from "./engine";
import { CLI, REAL_APP } from "./paths";
import { AGENT_EVALUATION, warmpoolAfter } from "./policies/warmpool";
import { num, table } from "./report";
import { BURST, MODEL, burstWorkload, functionConfig, simParams } from "./scenarios";
import { percentile, spread, type Spread } from "./stats";

const SCALE = 0.1;

export interface RealRun {
  starts: number;
  peakConcurrentStarts: number;
  containerSeconds: number;
  waitP50: number;
  waitP90: number;
  waitP99: number;
  waitMax: number;
  /** Start → ready of each container, s. */
  coldStarts: number[];
  /** Live containers (GET …/functions/work) just before each burst: 0 means it started from zero. */
  liveBeforeBurst: number[];
  seconds: number;
}

interface LogEvent {
  event: string;
  time: number;
  container?: string;
  startMs?: number;
  readyMs?: number;
}

export async function realCrossCheck(o: { runs: number; print: (s?: string) => void }): Promise<Record<string, unknown>> {
  const { print } = o;
  print(
    `\nReal agent: the burst at scale ${SCALE} (cold start ${(MODEL.coldStartMs * SCALE) / 1000} s, service ${(BURST.serviceMs * SCALE) / 1000} s, scaledownWindow 6 s, ${BURST.bursts} bursts ${(BURST.periodMs * SCALE) / 1000} s apart), ${o.runs} run(s)`,
  );
  const runs: RealRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await oneRun();
    print(
      `  run ${i + 1}: ${r.starts} starts, peak ${r.peakConcurrentStarts} at once, ${r.containerSeconds.toFixed(1)} container-s, wait p50 ${r.waitP50.toFixed(3)} s, p99 ${r.waitP99.toFixed(3)} s, cold start ${spread(r.coldStarts).median.toFixed(3)} s; live before each burst: ${r.liveBeforeBurst.join(" ")}`,
    );
    runs.push(r);
  }
  const config = functionConfig({ scaledownWindowS: 60 * SCALE });
  const params = simParams(SCALE);
  const measuredCold = spread(runs.flatMap((r) => r.coldStarts)).median;
  const coldMs = Math.ceil((measuredCold * 1000) / params.dtMs) * params.dtMs;
  // The agent's ticks fall anywhere relative to the bursts: simulate every phase of the step, and report
  // the median (min – max) over them (with the bursts on the tick, a container stops up to 1 s earlier
  // than on average: 10 % of its 9 s life at this scale).
  const phases = Array.from({ length: 10 }, (_, i) => (i * AGENT_EVALUATION.tickMs) / 10);
  const overPhases = (coldStartMs: number): SimSpread => {
    const runs = phases.map((tickPhaseMs) => simulate(warmpoolAfter, config, burstWorkload(SCALE), { ...params, coldStartMs, tickPhaseMs }));
    const of = (f: (r: RunResult) => number): Spread => spread(runs.map(f));
    return {
      starts: of((r) => r.starts),
      peakConcurrentStarts: of((r) => r.peakConcurrentStarts),
      containerSeconds: of((r) => r.containerSeconds),
      waitP50: of((r) => r.waitP50),
      waitP90: of((r) => r.waitP90),
      waitP99: of((r) => r.waitP99),
      waitMax: of((r) => r.waitMax),
    };
  };
  const nominal = overPhases(params.coldStartMs);
  const measured = overPhases(coldMs);
  const real = {
    starts: spread(runs.map((r) => r.starts)),
    peakConcurrentStarts: spread(runs.map((r) => r.peakConcurrentStarts)),
    containerSeconds: spread(runs.map((r) => r.containerSeconds)),
    waitP50: spread(runs.map((r) => r.waitP50)),
    waitP90: spread(runs.map((r) => r.waitP90)),
    waitP99: spread(runs.map((r) => r.waitP99)),
    waitMax: spread(runs.map((r) => r.waitMax)),
    coldStart: spread(runs.flatMap((r) => r.coldStarts)),
  };
  const s = (x: Spread, d: number): string => (x.min === x.max ? num(x.median, d) : `${num(x.median, d)} (${num(x.min, d)} – ${num(x.max, d)})`);
  const row = (label: string, k: keyof SimSpread, d: number): string[] => {
    const x = real[k];
    const a = nominal[k];
    const b = measured[k];
    return [label, s(x, d), s(a, d), `×${(x.median / a.median).toFixed(2)}`, s(b, d), `×${(x.median / b.median).toFixed(2)}`];
  };
  print(
    table(
      [
        "figure",
        `real agent, median (min – max) over ${o.runs} runs`,
        `sim, ${(params.coldStartMs / 1000).toFixed(2)} s cold, over tick phases`,
        "real ÷ sim",
        `sim, ${(coldMs / 1000).toFixed(2)} s cold (measured)`,
        "real ÷ sim",
      ],
      [
        row("starts", "starts", 0),
        row("peak concurrent starts", "peakConcurrentStarts", 0),
        row("container-seconds", "containerSeconds", 1),
        row("wait p50 (s)", "waitP50", 3),
        row("wait p90 (s)", "waitP90", 3),
        row("wait p99 (s)", "waitP99", 3),
        row("wait max (s)", "waitMax", 3),
      ],
    ),
  );
  print(`cold start of the real containers (start → ready): ${s(real.coldStart, 3)} s over ${real.coldStart.runs.length} containers`);
  return { scale: SCALE, runs, real, tickPhasesMs: phases, simNominal: nominal, simMeasuredCold: { coldStartMs: coldMs, ...measured } };
}

type SimSpread = Record<"starts" | "peakConcurrentStarts" | "containerSeconds" | "waitP50" | "waitP90" | "waitP99" | "waitMax", Spread>;

async function oneRun(): Promise<RealRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wp-bench-scale-"));
  fs.chmodSync(dir, 0o755);
  fs.copyFileSync(path.join(REAL_APP, "handlers.py"), path.join(dir, "handlers.py"));
  const app = {
    name: "burst",
    functions: {
      work: {
        runtime: "python",
        handler: "handlers:Work.run",
        concurrency: { maxInputs: MODEL.maxInputs, targetInputs: MODEL.targetInputs },
        autoscaler: { maxContainers: MODEL.maxContainers, scaledownWindow: 60 * SCALE },
        env: { COLD_START_S: String((MODEL.coldStartMs * SCALE) / 1000), SERVICE_S: String((BURST.serviceMs * SCALE) / 1000) },
      },
    },
  };
  fs.writeFileSync(path.join(dir, "app.yaml"), `${JSON.stringify(app, null, 2)}\n`);
  const child = spawn(process.execPath, [CLI, "dev", "app.yaml", "--port", "0", "--log-level", "info"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WARMPOOL_CONFIG: path.join(dir, "config.toml") },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const events: LogEvent[] = [];
  let stderrTail = "";
  let partial = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderrTail = (stderrTail + d).slice(-4000);
    const lines = (partial + d).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const e = JSON.parse(line) as LogEvent;
        if (typeof e.event === "string") events.push(e);
      } catch {
        // not a log event
      }
    }
  });
  let pool: Pool | null = null;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`the agent did not start in 30 s:\n${stderrTail}`)), 30_000);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (d: string) => {
        out += d;
        const m = /ready on (http:\/\/\S+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      void exited.then(() => reject(new Error(`the agent exited before it was ready:\n${stderrTail}`)));
    });
    const token = fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim();
    pool = new Pool(url, { connections: BURST.calls + 4 });
    const p = pool;
    const request = async (method: string, route: string, body?: unknown): Promise<any> => {
      const res = await p.request({
        method: method as "GET",
        path: route,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${method} ${route}: ${res.statusCode} ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    const fnRoute = "/v1/apps/burst/functions/work";
    const waits: number[] = [];
    const liveBeforeBurst: number[] = [];
    const t0 = Date.now() + 500;
    for (let b = 0; b < BURST.bursts; b++) {
      const at = t0 + b * BURST.periodMs * SCALE;
      await sleep(at - Date.now());
      liveBeforeBurst.push(((await request("GET", fnRoute)).containers as unknown[]).length);
      const calls = Array.from({ length: BURST.calls }, async (_, i) => {
        const sent = Date.now();
        const r = await request("POST", `${fnRoute}/call`, { args: [b * BURST.calls + i], kwargs: {} });
        if (r.status !== "succeeded") throw new Error(`call ${i} of burst ${b}: ${JSON.stringify(r).slice(0, 300)}`);
        waits.push(Math.max(0, r.result.started * 1000 - sent) / 1000);
      });
      await Promise.all(calls);
    }
    const deadline = Date.now() + 60_000;
    const count = (name: string): number => events.filter((e) => e.event === name).length;
    while (count("container.stopped") < count("container.ready") || count("container.ready") === 0) {
      if (Date.now() > deadline) throw new Error(`containers still live 60 s after the last burst:\n${stderrTail}`);
      await sleep(100);
    }
    await sleep(200);
    const end = Date.now();
    return measure(events, waits, liveBeforeBurst, t0, end);
  } finally {
    await pool?.close();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(killer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function measure(events: readonly LogEvent[], waits: number[], liveBeforeBurst: number[], t0: number, end: number): RealRun {
  const started = new Map<string, { start: number; ready: number }>();
  for (const e of events) {
    if (e.event !== "container.ready" || e.container === undefined) continue;
    started.set(e.container, { start: e.time - (e.startMs ?? 0) - (e.readyMs ?? 0), ready: e.time });
  }
  let containerMs = 0;
  for (const e of events) {
    if (e.event !== "container.stopped" || e.container === undefined) continue;
    const c = started.get(e.container);
    if (c !== undefined) containerMs += e.time - c.start;
  }
  // Peak of overlapping [start, ready) intervals.
  const edges = [...started.values()].flatMap((c) => [
    [c.start, 1],
    [c.ready, -1],
  ]) as Array<[number, number]>;
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) {
    now += d;
    peak = Math.max(peak, now);
  }
  const sorted = Float64Array.from(waits).sort();
  return {
    starts: started.size,
    peakConcurrentStarts: peak,
    containerSeconds: containerMs / 1000,
    waitP50: percentile(sorted, 0.5),
    waitP90: percentile(sorted, 0.9),
    waitP99: percentile(sorted, 0.99),
    waitMax: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number),
    coldStarts: [...started.values()].map((c) => (c.ready - c.start) / 1000),
    liveBeforeBurst,
    seconds: (end - t0) / 1000,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
