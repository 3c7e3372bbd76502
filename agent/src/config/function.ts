/**
 * A FunctionSpec, as @warmpool/schema returns it with every default filled (ResolvedFunctionSpec),
 * compiled into the numbers the dispatcher and autoscaler use: milliseconds instead of seconds, the
 * batch settings as one nullable object, and the retry policy as a pure delay function. Computed once
 * per deploy, never per input.
 */
import { WORKER_ENV, type ResolvedEndpointSpec, type ResolvedFunctionSpec } from "@warmpool/schema";
import type { ScaleConfig } from "../autoscaler/decide";

export interface RetryPolicy {
  maxRetries: number;
  initialDelayMs: number;
  backoffCoefficient: number;
  maxDelayMs: number;
}

export interface FunctionConfig {
  /** `app/name`: the key of the function everywhere in the agent. */
  key: string;
  app: string;
  name: string;
  handler: string;
  runtime: "python" | "node";
  /** Directory the handler module is loaded from. */
  appDir: string;
  env: Record<string, string>;
  gpuCount: number;
  timeoutMs: number;
  startupTimeoutMs: number;
  retries: RetryPolicy;
  minContainers: number;
  maxContainers: number;
  bufferContainers: number;
  scaledownWindowMs: number;
  maxConcurrentStarts: number;
  maxInputs: number;
  targetInputs: number;
  /** null for a plain handler. */
  batch: { maxBatchSize: number; waitMs: number } | null;
  spec: ResolvedFunctionSpec;
}

/**
 * `endpoints`: the app's; a function behind a webServer endpoint is started with `WARMPOOL_WEB_PORT`
 * (0: the worker picks a free port and names it in `/ready`; a pod listens on its Function's webPort).
 */
export function compileFunction(spec: ResolvedFunctionSpec, appDir: string, endpoints: readonly ResolvedEndpointSpec[] = []): FunctionConfig {
  const { retries, autoscaler, concurrency } = spec;
  const webServer = endpoints.some((e) => e.kind === "webServer" && e.function === spec.name);
  return {
    key: `${spec.app}/${spec.name}`,
    app: spec.app,
    name: spec.name,
    handler: spec.handler,
    runtime: spec.runtime,
    appDir,
    env: { ...spec.env, ...(webServer ? { [WORKER_ENV.webPort]: "0" } : {}) },
    gpuCount: gpuCount(spec.gpu),
    timeoutMs: spec.timeout * 1000,
    startupTimeoutMs: spec.startupTimeout * 1000,
    retries: {
      maxRetries: retries.maxRetries,
      initialDelayMs: retries.initialDelay * 1000,
      backoffCoefficient: retries.backoffCoefficient,
      maxDelayMs: retries.maxDelay * 1000,
    },
    minContainers: autoscaler.minContainers,
    maxContainers: autoscaler.maxContainers,
    bufferContainers: autoscaler.bufferContainers,
    scaledownWindowMs: autoscaler.scaledownWindow * 1000,
    maxConcurrentStarts: autoscaler.maxConcurrentStarts,
    maxInputs: concurrency.maxInputs,
    targetInputs: Math.min(concurrency.targetInputs, concurrency.maxInputs),
    batch: spec.batching === undefined ? null : { maxBatchSize: spec.batching.maxBatchSize, waitMs: spec.batching.waitMs },
    spec,
  };
}

/** The settings the autoscaler's decide() reads (the dispatcher's `fn.scale`, and the autoscaler benchmark's). */
export function scaleConfig(config: FunctionConfig): ScaleConfig {
  return {
    minContainers: config.minContainers,
    maxContainers: config.maxContainers,
    bufferContainers: config.bufferContainers,
    targetInputs: config.targetInputs,
    maxInputs: config.maxInputs,
    batchSize: config.batch?.maxBatchSize ?? 1,
    scaledownWindowMs: config.scaledownWindowMs,
    maxConcurrentStarts: config.maxConcurrentStarts,
  };
}

/**
 * Delay before retry `n` (1-based), Modal's formula: initialDelay × backoffCoefficient^(n−1), capped at
 * maxDelay. E.g. initial 1 s, coefficient 2, max 5 s: retries wait 1 s, 2 s, 4 s, 5 s, 5 s.
 */
export function retryDelayMs(policy: RetryPolicy, n: number): number {
  return Math.min(policy.initialDelayMs * policy.backoffCoefficient ** (n - 1), policy.maxDelayMs);
}

function gpuCount(gpu: string | undefined): number {
  if (gpu === undefined) return 0;
  const count = gpu.split(":")[1];
  return count === undefined ? 1 : Number(count);
}
