/**
 * The simulated function and the three workloads of issue 15's benchmark: a replayed trace, repeated
 * bursts from zero, and calls that fail half the time under function and client retries.
 */
import { parseSpec } from "@warmpool/schema";
import { compileFunction, scaleConfig } from "../../src/config/function";
import type { SimParams, Workload } from "./engine";
import type { PolicyConfig } from "./policy";
import type { Trace } from "./trace";

/** The model: 20 s cold start, maxInputs 8, targetInputs 6, 0.1 s steps. */
export const MODEL = {
  coldStartMs: 20_000,
  maxInputs: 8,
  targetInputs: 6,
  dtMs: 100,
  /** Service time of a trace request: 0.05 ms per context token + 10 ms per generated token. */
  msPerContextToken: 0.05,
  msPerGeneratedToken: 10,
  /**
   * Not from the issue: high enough never to bind (the conversation trace needs ≤ 13 under any policy
   * here), so that what is measured is the policies, not a cost ceiling. The schema's default is 10.
   */
  maxContainers: 100,
} as const;

export const BURST = { bursts: 5, calls: 20, serviceMs: 3000, periodMs: 180_000 } as const;

export const FAILURE = {
  callsPerSec: 2,
  durationMs: 300_000,
  serviceMs: 3000,
  failureRate: 0.5,
  maxRetries: 3,
  clientRetries: 3,
  clientRetryDelayMs: 1000,
} as const;

/**
 * The function every scenario runs: a spec through the schema (defaults filled as for a deployed
 * function: scaledownWindow 60 s, retry delays 1 s × 2^(n−1)) and compiled as the agent compiles it.
 */
export function functionConfig(opts: { maxRetries?: number; scaledownWindowS?: number } = {}): PolicyConfig {
  const spec = parseSpec(
    "Function",
    {
      app: "bench",
      name: "fn",
      handler: "bench:fn",
      concurrency: { maxInputs: MODEL.maxInputs, targetInputs: MODEL.targetInputs },
      autoscaler: { maxContainers: MODEL.maxContainers, ...(opts.scaledownWindowS === undefined ? {} : { scaledownWindow: opts.scaledownWindowS }) },
      ...(opts.maxRetries === undefined ? {} : { retries: { maxRetries: opts.maxRetries } }),
    },
    "the benchmark's function",
  );
  const fn = compileFunction(spec, "/nonexistent");
  return { fn, scale: scaleConfig(fn) };
}

/** The step and cold start, every duration multiplied by `scale`; `dtMs` overrides the step. */
export function simParams(scale = 1, dtMs: number = MODEL.dtMs * scale): SimParams {
  return { dtMs, coldStartMs: MODEL.coldStartMs * scale, tailLimitMs: 3_600_000 };
}

export function traceWorkload(trace: Trace): Workload {
  const n = trace.arrivalMs.length;
  const serviceMs = new Float64Array(n);
  for (let i = 0; i < n; i++) serviceMs[i] = (trace.contextTokens[i] as number) * MODEL.msPerContextToken + (trace.generatedTokens[i] as number) * MODEL.msPerGeneratedToken;
  return { name: "trace", arrivalMs: trace.arrivalMs, serviceMs, failureRate: 0, seed: 0, clientRetries: 0, clientRetryDelayMs: 0 };
}

/** `calls` calls at once, every `periodMs`, `bursts` times; every duration multiplied by `scale`. */
export function burstWorkload(scale = 1, b: { bursts: number; calls: number; serviceMs: number; periodMs: number } = BURST): Workload {
  const n = b.bursts * b.calls;
  const arrivalMs = new Float64Array(n);
  for (let i = 0; i < n; i++) arrivalMs[i] = Math.floor(i / b.calls) * b.periodMs * scale;
  return { name: "burst", arrivalMs, serviceMs: new Float64Array(n).fill(b.serviceMs * scale), failureRate: 0, seed: 0, clientRetries: 0, clientRetryDelayMs: 0 };
}

/** Poisson arrivals of `callsPerSec` for `durationMs`, each attempt failing with `failureRate`. */
export function failureWorkload(seed: number, failureRate: number = FAILURE.failureRate): Workload {
  const rand = mulberry32(seed);
  const arrivals: number[] = [];
  for (let t = 0; ;) {
    t += (-Math.log(1 - rand()) / FAILURE.callsPerSec) * 1000;
    if (t >= FAILURE.durationMs) break;
    arrivals.push(t);
  }
  return {
    name: failureRate >= 1 ? "failure-all" : "failure",
    arrivalMs: Float64Array.from(arrivals),
    serviceMs: new Float64Array(arrivals.length).fill(FAILURE.serviceMs),
    failureRate,
    seed,
    clientRetries: FAILURE.clientRetries,
    clientRetryDelayMs: FAILURE.clientRetryDelayMs,
  };
}

/** A small seeded generator (Mulberry32): the same seed gives the same arrivals on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
