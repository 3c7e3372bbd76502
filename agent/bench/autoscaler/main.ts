#!/usr/bin/env node
/**
 * `npm run bench:autoscaler`: issue 15's scaling policies side by side, in one run, on
 *   - trace:   a replayed request trace (default ../shared/traces/azure-llm-conv-2023-11-16.csv);
 *   - burst:   20 calls at once at zero containers, 3 s each, 5 times, 180 s apart;
 *   - failure: 2 calls/s (Poisson) for 300 s, 3 s each, every attempt failing with probability 0.5, on
 *              a function with `retries: 3` whose clients call again up to 3× when a call fails; and
 *              failure-all, the same with every attempt failing (a broken deploy: where a breaker acts).
 * Flags: --trace FILE, --json OUT (the trace's per-policy figures, exactly
 * `[{policy, containerSeconds, idealSeconds, starts, peakConcurrentStarts, waitP50, waitP90, waitP99,
 * waitMax}]`, seconds), --only trace,burst,failure (default all; only trace when --trace is given),
 * --policies a,b, --seeds N (failure scenarios, default 5), --dt SECONDS (the step, default 0.1: a
 * finer one shows differences of wait below 0.1 s), --out FILE (everything, default
 * agent/bench/results/autoscaler.json), --real [--real-runs N] (the burst on a real agent, real.ts).
 *
 * The model, and what it assumes:
 * - One function: cold start 20 s (start decision → ready, paid for: container-seconds run from the
 *   start decision to the stop), concurrency maxInputs 8 / targetInputs 6, scaledownWindow 60 s (the
 *   schema's default: the spec goes through @warmpool/schema and compileFunction as a deployed one
 *   does), maxContainers 100 (never reached on the conversation trace; the run prints a NOTE when a
 *   trace makes a policy reach it), no batching, containers never fail to start.
 * - Discrete time, steps of 0.1 s; everything happens on a step boundary, so a slot freed mid-step is
 *   used at the next step, and a wait is (step of dispatch − exact arrival): up to 0.1 s of every wait
 *   is the step, the same for every policy.
 * - Service time of a trace request: 0.05 ms per context token + 10 ms per generated token, the same
 *   however many inputs its container runs (no contention inside a container), and the same for every
 *   attempt of a call.
 * - Dispatch is the agent's (FunctionRuntime.pump/pick, agent/README.md "Dispatch"), for every policy:
 *   FIFO; the oldest ready container below targetInputs, else the least busy below maxInputs. Only when
 *   and how many containers start and stop differs between policies.
 * - Policies see the agent's observation (queued incl. retries waiting out their delay, in flight, the
 *   live containers) and are asked when their Evaluation says; ticks fall on the first call's arrival
 *   and every tick after. A policy stopping a busy container drains it (no new inputs; stopped when its
 *   last input ends).
 * - Failures: an attempt fails at the end of its service time; whether it fails is a hash of the seed
 *   and (call, client retry, attempt), so every policy meets the same failures. The function retries
 *   after 1 s × 2^(n−1) (the schema's defaults); a client whose call failed calls again 1 s later as a
 *   new call (no idempotency keys today), so one logical call runs up to (1 + 3) × (1 + 3) = 16
 *   attempts.
 * - ideal = service time of every attempt run ÷ maxInputs: full containers with no cold start and no
 *   idle time. The run ends when every call is over and every container has stopped, so the idle tail
 *   each policy keeps is counted.
 * Deterministic: the same inputs give the same figures on every machine, so each trace and burst figure
 * is one value; the failure scenarios report the median (min – max) over seeds 1..N. Ratios ("vs
 * before") are against warmpool-before in the same run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { simulate, type RunResult } from "./engine";
import { DEFAULT_TRACE, RESULTS } from "./paths";
import { BASELINE, POLICIES, policiesNamed } from "./policies";
import type { Policy } from "./policy";
import { failureTable, figures, num, runTable, type FailureSummary } from "./report";
import { BURST, FAILURE, MODEL, burstWorkload, failureWorkload, functionConfig, simParams, traceWorkload } from "./scenarios";
import { spread } from "./stats";
import { readTrace } from "./trace";

const SCENARIOS = ["trace", "burst", "failure"] as const;

export interface Options {
  trace: string;
  json: string | null;
  out: string;
  only: Set<string>;
  policies: string[];
  seeds: number;
  dtMs: number;
  real: boolean;
  realRuns: number;
  quiet: boolean;
}

export function parseArgs(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
    return v;
  };
  const known = new Set(["trace", "json", "out", "only", "policies", "seeds", "dt", "real", "real-runs", "quiet"]);
  for (const a of argv) if (a.startsWith("--") && !known.has(a.slice(2))) throw new Error(`unknown flag ${a}: known are ${[...known].map((k) => `--${k}`).join(", ")}`);
  const trace = value("trace");
  const only = new Set((value("only") ?? (trace === undefined ? SCENARIOS.join(",") : "trace")).split(","));
  for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only ${s}: scenarios are ${SCENARIOS.join(", ")}`);
  if (value("json") !== undefined && !only.has("trace")) throw new Error("--json writes the trace's figures: --only must include trace");
  const seeds = Number(value("seeds") ?? 5);
  const realRuns = Number(value("real-runs") ?? 3);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error("--seeds must be a whole number ≥ 1");
  if (!Number.isInteger(realRuns) || realRuns < 1) throw new Error("--real-runs must be a whole number ≥ 1");
  const dtMs = Number(value("dt") ?? MODEL.dtMs / 1000) * 1000;
  if (!(Number.isInteger(dtMs) && dtMs > 0 && 1000 % dtMs === 0)) throw new Error("--dt must divide 1 s into whole milliseconds (e.g. 0.1, 0.05, 0.01)");
  return {
    trace: path.resolve(trace ?? DEFAULT_TRACE),
    json: value("json") === undefined ? null : path.resolve(value("json") as string),
    out: path.resolve(value("out") ?? RESULTS),
    only,
    policies: (value("policies") ?? POLICIES.map((p) => p.name).join(",")).split(","),
    seeds,
    dtMs,
    real: argv.includes("--real"),
    realRuns,
    quiet: argv.includes("--quiet"),
  };
}

export async function main(argv: readonly string[]): Promise<Record<string, unknown>> {
  const o = parseArgs(argv);
  const policies = policiesNamed(o.policies);
  const print = (s = ""): void => {
    if (!o.quiet) process.stdout.write(`${s}\n`);
  };
  const t0 = performance.now();
  const config = functionConfig();
  const params = simParams(1, o.dtMs);
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    command: `npm run bench:autoscaler${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    machine: { node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    model: { ...MODEL, scaledownWindowMs: config.fn.scaledownWindowMs },
    policies: policies.map((p) => ({ name: p.name, about: p.about, evaluation: p.evaluation, windowsMs: p.windowsMs })),
    scenarios: {} as Record<string, unknown>,
  };
  const scenarios = results.scenarios as Record<string, unknown>;
  print(
    `Autoscaler benchmark, ${results.startedAt as string}: step ${params.dtMs / 1000} s, cold start ${params.coldStartMs / 1000} s, maxInputs ${MODEL.maxInputs}, targetInputs ${MODEL.targetInputs}, scaledownWindow ${config.fn.scaledownWindowMs / 1000} s, maxContainers ${MODEL.maxContainers}`,
  );
  for (const p of policies) print(`  ${p.name.padEnd(16)} ${p.about}`);

  if (o.only.has("trace")) {
    const trace = await readTrace(o.trace);
    const work = traceWorkload(trace);
    const runs = policies.map((p) => simulate(p, config, work, params));
    const n = trace.arrivalMs.length;
    const span = (trace.arrivalMs[n - 1] as number) / 1000;
    const service = work.serviceMs.reduce((a, b) => a + b, 0) / 1000;
    scenarios.trace = { file: trace.file, start: trace.start, calls: n, spanSeconds: span, serviceSeconds: service, skippedRows: trace.skipped, firstSkipped: trace.firstSkipped, results: runs };
    print(
      `\nTrace ${path.basename(trace.file)}: ${num(n)} calls over ${num(span)} s from ${trace.start}, ${num(service)} s of service (mean ${(service / n).toFixed(2)} s)${trace.skipped > 0 ? `; ${trace.skipped} rows skipped (${trace.firstSkipped})` : ""}`,
    );
    print(runTable(runs, BASELINE));
    const capped = runs.filter((r) => r.peakContainers >= MODEL.maxContainers).map((r) => r.policy);
    if (capped.length > 0) print(`NOTE: ${capped.join(", ")} reached maxContainers ${MODEL.maxContainers}: on this trace the cap, not only the policy, shapes the figures`);
    if (o.json !== null) {
      fs.mkdirSync(path.dirname(o.json), { recursive: true });
      fs.writeFileSync(o.json, `${JSON.stringify(runs.map(figures), null, 2)}\n`);
    }
  }

  if (o.only.has("burst")) {
    const work = burstWorkload();
    const runs = policies.map((p) => simulate(p, config, work, params));
    scenarios.burst = { ...BURST, results: runs };
    print(`\nBurst: ${BURST.calls} calls at once at zero containers, ${BURST.serviceMs / 1000} s each, ${BURST.bursts} times ${BURST.periodMs / 1000} s apart`);
    print(runTable(runs, BASELINE));
    const notCold = runs.filter((r) => r.coldArrivals !== BURST.bursts * BURST.calls).map((r) => r.policy);
    print(notCold.length === 0 ? "every burst found zero containers, under every policy" : `NOT every burst started from zero: ${notCold.join(", ")}`);
  }

  if (o.only.has("failure")) {
    const retried = functionConfig({ maxRetries: FAILURE.maxRetries });
    for (const [key, rate] of [
      ["failure", FAILURE.failureRate],
      ["failure-all", 1],
    ] as const) {
      const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
      const byPolicy = policies.map((p) =>
        summarizeFailure(
          p,
          seeds.map((seed) => simulate(p, retried, failureWorkload(seed, rate), params)),
        ),
      );
      scenarios[key] = { ...FAILURE, failureRate: rate, seeds, results: byPolicy };
      print(
        `\n${key === "failure" ? "Failure" : "Failure, every attempt"}: ${FAILURE.callsPerSec} calls/s for ${FAILURE.durationMs / 1000} s, ${FAILURE.serviceMs / 1000} s each, ${rate * 100} % of attempts fail; retries ${FAILURE.maxRetries} (1, 2, 4 s), clients call again ${FAILURE.clientRetries}× after ${FAILURE.clientRetryDelayMs / 1000} s; median (min – max) over seeds 1..${o.seeds}`,
      );
      print(failureTable(byPolicy, BASELINE));
    }
  }

  if (o.real) {
    const { realCrossCheck } = await import("./real");
    results.real = await realCrossCheck({ runs: o.realRuns, print });
  }

  results.wallSeconds = Math.round(performance.now() - t0) / 1000;
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(results, null, 2)}\n`);
  print(`\n${results.wallSeconds as number} s; everything in ${path.relative(process.cwd(), o.out)}${o.json === null ? "" : `, the trace's figures in ${path.relative(process.cwd(), o.json)}`}`);
  return results;
}

function summarizeFailure(policy: Policy, runs: readonly RunResult[]): FailureSummary {
  const of = (f: (r: RunResult) => number) => spread(runs.map(f));
  return {
    policy: policy.name,
    guarded: policy.guards !== undefined,
    attemptsPerLogicalMean: of((r) => r.calls.attemptsPerLogicalMean),
    attemptsPerLogicalMax: of((r) => r.calls.attemptsPerLogicalMax),
    attemptsPerFirstAttempt: of((r) => r.calls.attempts / r.calls.firstAttempts),
    clientCallsPerLogical: of((r) => r.calls.client / r.calls.logical),
    logicalFailedShare: of((r) => r.calls.failed / r.calls.logical),
    starts: of((r) => r.starts),
    peakConcurrentStarts: of((r) => r.peakConcurrentStarts),
    peakContainers: of((r) => r.peakContainers),
    containerSeconds: of((r) => r.containerSeconds),
    idealSeconds: of((r) => r.idealSeconds),
    waitP99: of((r) => r.waitP99),
    startsWhileOpen: of((r) => r.startsWhileOpen),
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`bench:autoscaler: ${err.message}\n`);
    process.exit(1);
  });
}
