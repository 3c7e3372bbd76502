/**
 * One deployed function, put together from its parts, each the only writer of its own state:
 *
 * - `lane`: its queue of inputs and their counts (opened by the CallTable, which alone changes them);
 * - `pool`: its containers (containers/pool.ts: start, ready, drain, stop, start back-off);
 * - `dispatch`: which input runs on which container, when (dispatcher/dispatch.ts);
 * - `load`: what is in flight on it and on each container (load/load.ts), reported by the dispatch,
 *   the web proxy and the HAProxy data plane, and read by the autoscaler;
 * - `scaling`: the autoscaler's decisions (autoscaler/record.ts).
 *
 * It is what the registry hands out, and what the autoscaler scales (`Scaled`).
 */
import type { Logger } from "pino";
import type { ScaleConfig, Observation, ContainerObservation, Estimates } from "../autoscaler/decide";
import { Estimator } from "../autoscaler/estimates";
import { ScaleRecord } from "../autoscaler/record";
import type { Scaled } from "../autoscaler/runner";
import type { Backend } from "../backends/backend";
import type { Clock } from "../clock";
import { retryDelayMs, scaleConfig, type FunctionConfig } from "../config/function";
import { describeContainer, type Container } from "../containers/container";
import { ContainerPool } from "../containers/pool";
import { InputDispatch } from "../dispatcher/dispatch";
import { AgentError } from "../errors";
import { Load } from "../load/load";
import type { FunctionGauges, FunctionTimings, OutcomeCounters } from "../metrics/metrics";
import { Breaker } from "../queue/breaker";
import type { AttemptRecord } from "../store/store";
import type { CallTable, Input, Lane } from "../queue/call-table";
import { RetryBudget } from "../queue/retry-budget";

export interface DeployedFunctionDeps {
  calls: CallTable;
  backend: Backend;
  clock: Clock;
  log: Logger;
  /** Counters of settled inputs (metrics children, made at deploy). */
  outcomes: OutcomeCounters;
  /** Histograms of calls, attempts and cold starts (metrics children, made at deploy). */
  timings: FunctionTimings;
  /** Inputs wait and no container can take them, or a request waits for one: decide now. */
  pressure(fn: DeployedFunction): void;
  /** A container became ready or stopped. */
  changed(fn: DeployedFunction): void;
  /** A container starts draining, before its load is read to decide whether it may stop now. */
  draining(fn: DeployedFunction, c: Container): void;
}

/** A function's state in `GET /v1/apps/...` and in its Function resource's status. */
export interface FunctionState {
  replicas: number;
  readyReplicas: number;
  queueDepth: number;
  delayed: number;
  inFlight: number;
  pendingSpawns: number;
  startFailures?: number;
  lastStartError?: string;
  /** The last start failed in a way that repeats (import error, `@enter` raising): no retry until the next input. */
  startFailureRepeats?: boolean;
  /** That failure's traceback, the runtime's frames left out. */
  startTraceback?: string;
  /** Containers in a row that exited on their own soon after they were ready (pool.ts CRASH_LOOP_WINDOW_MS), and the last such exit. */
  crashLoop?: { crashes: number; lastExit: string };
  /** Why containers the load needs are not being started now (the breaker, a start back-off). */
  startHeld?: string;
  lastScaleReason?: string;
  lastScaleTime?: string;
  /** What the autoscaler measured at its last look (issue 15's estimates; ms, per second). */
  estimates?: Estimates;
  /** The breaker: closed, open or half-open, with the failures it counts. */
  breaker?: string;
  /** Retries the retry budget allows now. */
  retriesAvailable?: number;
}

export class DeployedFunction implements Scaled {
  readonly key: string;
  readonly scale: ScaleConfig;
  readonly lane: Lane;
  readonly load: Load<Container>;
  readonly pool: ContainerPool;
  readonly dispatch: InputDispatch;
  readonly scaling = new ScaleRecord();
  private readonly estimator: Estimator;
  private lastEstimates: Estimates | null = null;
  private readonly clock: Clock;
  /** Issue 15's guards: retries at most a tenth of first attempts (at least 3) a minute; new calls refused while most attempts fail. */
  readonly retryBudget = new RetryBudget();
  readonly breaker = new Breaker();
  private stopped = false;

  constructor(
    readonly config: FunctionConfig,
    deps: DeployedFunctionDeps,
  ) {
    this.key = config.key;
    this.scale = scaleConfig(config);
    this.estimator = new Estimator(config.scaledownWindowMs);
    this.clock = deps.clock;
    const { calls, clock, outcomes, timings, log } = deps;
    this.lane = calls.openLane(config.key, {
      maxRetries: config.retries.maxRetries,
      retryDelay: (n) => retryDelayMs(config.retries, n),
      wake: () => {
        this.pool.demand();
        this.dispatch.pump();
      },
      attempted: (input: Input, a: AttemptRecord) => {
        timings.queueWait.observe(Math.max(0, a.startedAt - input.enqueuedAt) / 1000);
        timings.execution.observe(Math.max(0, a.finishedAt - a.startedAt) / 1000);
      },
      settled: (input: Input, a: AttemptRecord | null) => {
        const outcome = input.state === "completed" ? "succeeded" : input.state === "failed" ? "failed" : "cancelled";
        outcomes[outcome].inc();
        const totalMs = (input.finishedAt ?? clock.now()) - input.createdAt;
        timings.call[outcome].observe(totalMs / 1000);
        logCall(log, config.key, input, outcome, totalMs, a);
      },
      guards: {
        firstAttempt: () => this.retryBudget.firstAttempt(clock.now()),
        retry: () => this.retryBudget.tryRetry(clock.now()),
        ended: (ok) => this.breaker.record(clock.now(), ok),
      },
    });
    this.load = new Load<Container>(clock, (c) => this.pool.idle(c));
    this.pool = new ContainerPool(config, {
      backend: deps.backend,
      clock,
      log: deps.log,
      load: this.load,
      events: {
        ready: (c) => {
          if (c.readyAt !== null) timings.coldStart.observe((c.readyAt - c.createdAt) / 1000);
          this.dispatch.pump();
        },
        changed: () => deps.changed(this),
        startFailed: (c, message, failures, repeats) => this.dispatch.startFailed(c, message, failures, repeats),
        draining: (c) => deps.draining(this, c),
      },
    });
    this.dispatch = new InputDispatch({ config, calls, lane: this.lane, pool: this.pool, load: this.load, clock, pressure: () => deps.pressure(this) });
  }

  get closed(): boolean {
    return this.stopped;
  }

  observe(): Observation {
    const containers: ContainerObservation[] = [];
    for (const c of this.pool.containers) {
      if (c.phase === "starting" || c.phase === "ready") containers.push({ id: c.id, state: c.phase, inFlight: this.load.inFlightOn(c), idleSince: this.load.idleSince(c) });
    }
    // Inputs waiting out a retry delay (lane.delayed) are left out on purpose: failing demand must not grow the function.
    const now = this.clock.now();
    const estimates = this.estimator.sample(now, {
      load: this.load.inFlight + this.lane.queued,
      busyMs: this.load.busyMs(now),
      ended: this.load.ended,
      arrived: this.lane.arrived,
      coldStartMs: this.pool.coldStartMs(),
    });
    this.lastEstimates = estimates;
    return { queued: this.lane.queued, inFlight: this.load.inFlight, containers, startBackoff: this.pool.backoff, estimates, breaker: this.breaker.state(now) };
  }

  /**
   * May a new call (call, spawn, a map request) start now? Throws the 503 of an open breaker, with
   * Retry-After and the breaker's reason; half-open lets one probe through.
   */
  admit(): void {
    const now = this.clock.now();
    if (this.breaker.admit(now)) return;
    const retryAfter = this.breaker.retryAfterS(now);
    const reason = this.breaker.describe(now);
    throw new AgentError("WP_ERR_FUNCTION_FAILING", [JSON.stringify(this.key), reason, retryAfter], { retryAfter, reason });
  }

  startContainer(): Promise<void> {
    return this.pool.start();
  }

  drain(id: string, reason: string): boolean {
    return this.pool.drain(id, reason);
  }

  /** Its containers as status shows them, oldest first. */
  containers(): Array<Record<string, unknown>> {
    return this.pool.containers.map((c) => describeContainer(c, this.load.inFlightOn(c), this.load.idleSince(c)));
  }

  gauges(): FunctionGauges {
    return {
      app: this.config.app,
      function: this.config.name,
      queueDepth: this.lane.queued + this.lane.delayed,
      inFlight: this.load.inFlight,
      containers: this.pool.live(),
      desired: this.scaling.desired,
    };
  }

  status(): FunctionState {
    const pool = this.pool;
    const s = this.scaling;
    return {
      replicas: s.desired,
      readyReplicas: pool.readyCount(),
      queueDepth: this.lane.queued,
      delayed: this.lane.delayed,
      inFlight: this.load.inFlight,
      pendingSpawns: this.lane.pendingSpawns,
      ...(pool.startFailures > 0 && pool.lastStartError !== null ? { startFailures: pool.startFailures, lastStartError: pool.lastStartError } : {}),
      ...(pool.startFailure === null ? {} : { startFailureRepeats: true, startTraceback: pool.startFailure.traceback }),
      ...(pool.crashLoop === null ? {} : { crashLoop: pool.crashLoop }),
      ...(s.held === null ? {} : { startHeld: s.held }),
      ...(s.lastReason === null ? {} : { lastScaleReason: s.lastReason, lastScaleTime: new Date(s.lastTime as number).toISOString() }),
      ...(this.lastEstimates === null ? {} : { estimates: this.lastEstimates }),
      breaker: this.breaker.describe(this.clock.now()),
      retriesAvailable: this.retryBudget.available(this.clock.now()),
    };
  }

  /**
   * Stops every container (agent shutdown or undeploy); waiting inputs stay queued (spawned ones are
   * durable). With `drainMs` the inputs in flight get up to that long to finish first (InputDispatch.close).
   */
  close(graceMs: number, drainMs = 0): Promise<void> {
    this.stopped = true;
    return this.pool.close(graceMs, this.dispatch.close(drainMs));
  }
}

/**
 * One line per call, at info: `call.finished` with its id, function, attempts, outcome and durations
 * (`queueMs` and `runMs` of its last attempt; none when it never ran), and the error's type.
 */
function logCall(log: Logger, fn: string, input: Input, outcome: string, totalMs: number, a: AttemptRecord | null): void {
  if (!log.isLevelEnabled("info")) return;
  const fields: Record<string, unknown> = { event: "call.finished", callId: input.id, fn, attempt: input.attempt, outcome, totalMs };
  if (a !== null) {
    fields.queueMs = Math.max(0, a.startedAt - input.enqueuedAt);
    fields.runMs = a.finishedAt - a.startedAt;
    fields.container = a.container;
  }
  if (input.error !== null) fields.error = input.error.type;
  log.info(fields, `call ${input.id} ${fn} ${outcome} in ${totalMs} ms (attempt ${input.attempt})`);
}
