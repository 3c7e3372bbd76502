/**
 * The discrete-time simulation of one function under one policy; the model and its assumptions are
 * listed at the top of main.ts. Each step of dtMs, in this order:
 *
 *   1. attempts whose service time is over end: the container's slot frees (a draining container that
 *      became idle stops); a failed attempt is retried after the function's retry delay, or its call
 *      fails and the client may call again;
 *   2. containers whose cold start is over become ready;
 *   3. retries whose delay is over, then new calls, join the tail of the FIFO;
 *   4. dispatch (FunctionRuntime.pump/pick): the oldest input goes to the oldest ready container below
 *      targetInputs, else to the least busy one below maxInputs; an input no container can take raises
 *      the agent's `pressure`;
 *   5. the policy decides if its Evaluation says so, and its starts and stops are carried out.
 *
 * Deterministic: no clock, and the fate of an attempt (fails or not) is a hash of the seed and the
 * attempt's identity, so every policy sees the same failures for the same attempts.
 */
import { retryDelayMs } from "../../src/config/function";
import { Deque } from "../../src/queue/deque";
import { Heap, LoadWindows, WindowMax, percentile } from "./stats";
import { noGuards, type ContainerView, type Policy, type PolicyConfig, type PolicyObservation } from "./policy";

export interface Workload {
  name: string;
  /** Logical calls: when each arrives (ms from 0, ascending) and the service time of each of its attempts (ms). */
  arrivalMs: Float64Array;
  serviceMs: Float64Array;
  /** Each attempt fails, at the end of its service time, with this probability (0: never). */
  failureRate: number;
  seed: number;
  /** A client whose call failed calls again (a new call: no idempotency today), at most this many times. */
  clientRetries: number;
  clientRetryDelayMs: number;
}

export interface SimParams {
  dtMs: number;
  coldStartMs: number;
  /** Stop this long after the last arrival even if containers are still live (the result says `truncated`). */
  tailLimitMs: number;
  /** Ticks fall at phase + k × tick (default 0: on the first call's arrival and every tick after). */
  tickPhaseMs?: number;
}

/** The per-policy figures of the issue (seconds), then the rest of what the run counted. */
export interface RunResult {
  policy: string;
  containerSeconds: number;
  idealSeconds: number;
  starts: number;
  peakConcurrentStarts: number;
  waitP50: number;
  waitP90: number;
  waitP99: number;
  waitMax: number;
  peakContainers: number;
  /** Arrivals that found no live container (a burst from zero: all of its calls). */
  coldArrivals: number;
  /** Decisions that started or stopped something. */
  actions: number;
  calls: CallCounts;
  /** Containers started while the policy's breaker was open. */
  startsWhileOpen: number;
  endSeconds: number;
  truncated: boolean;
}

export interface CallCounts {
  logical: number;
  /** Calls made by clients: the first of each logical call plus each client retry that made a new call. */
  client: number;
  /** Client calls failed at once by the guards (breaker), without an attempt. */
  rejected: number;
  firstAttempts: number;
  attempts: number;
  succeeded: number;
  failed: number;
  attemptsPerLogicalMean: number;
  attemptsPerLogicalMax: number;
}

const STARTING = 0;
const READY = 1;
const DRAINING = 2;

interface Ctr {
  id: string;
  phase: number;
  startedAt: number;
  readyAt: number;
  inFlight: number;
  idleSince: number | null;
}

interface Att {
  logical: number;
  /** 0 for the client's first call, n for its n-th retry. */
  client: number;
  /** 1-based, within its call. */
  attempt: number;
  enqueuedAt: number;
}

interface Running {
  end: number;
  ctr: Ctr;
  att: Att;
  serviceMs: number;
}

export function simulate<S>(policy: Policy<S>, config: PolicyConfig, work: Workload, params: SimParams): RunResult {
  const { dtMs, coldStartMs } = params;
  const fn = config.fn;
  const maxInputs = fn.maxInputs;
  const target = fn.targetInputs;
  const maxContainers = config.scale.maxContainers;
  const guards = policy.guards?.(config) ?? noGuards();
  const tickMs = policy.evaluation.tickMs;
  if (tickMs % dtMs !== 0) throw new Error(`${policy.name}: tick ${tickMs} ms is not a multiple of the step ${dtMs} ms`);
  const phase = tickMs === 0 ? 0 : (params.tickPhaseMs ?? 0) % tickMs;
  if (phase % dtMs !== 0) throw new Error(`tick phase ${phase} ms is not a multiple of the step ${dtMs} ms`);
  const n = work.arrivalMs.length;
  const lastArrival = n === 0 ? 0 : (work.arrivalMs[n - 1] as number);

  let state = policy.init(config);
  const windows = policy.windowsMs.length === 0 ? null : new LoadWindows(policy.windowsMs, dtMs);
  // In flight over the function's scaledownWindow: the agent's `inFlightAverage` estimate.
  const busyWindowMs = Math.ceil(config.scale.scaledownWindowMs / dtMs) * dtMs;
  const busy = new LoadWindows([busyWindowMs], dtMs);
  const peak = new WindowMax(busyWindowMs / dtMs);
  const containers: Ctr[] = [];
  const queue = new Deque<Att>();
  const delayed = new Heap<{ due: number; att: Att }>((a, b) => a.due - b.due);
  const running = new Heap<Running>((a, b) => a.end - b.end);
  const clientCalls = new Heap<{ at: number; logical: number; client: number }>((a, b) => a.at - b.at || a.logical - b.logical);
  const attemptsOf = new Uint16Array(n);
  const waits: number[] = [];
  const coldStarts: number[] = [];
  const recentArrivals = new Deque<number>();
  let serviceEwma: number | null = null;

  let seq = 0;
  let next = 0;
  let queued = 0;
  let inFlight = 0;
  let starting = 0;
  let live = 0;
  let containerMs = 0;
  let serviceTotalMs = 0;
  let starts = 0;
  let peakStarts = 0;
  let peakContainers = 0;
  let coldArrivals = 0;
  let actions = 0;
  let startsWhileOpen = 0;
  let changedNext = false;
  const calls: CallCounts = { logical: n, client: 0, rejected: 0, firstAttempts: 0, attempts: 0, succeeded: 0, failed: 0, attemptsPerLogicalMean: 0, attemptsPerLogicalMax: 0 };

  const stop = (c: Ctr, t: number): void => {
    if (c.phase === STARTING) starting--;
    if (c.phase !== DRAINING) live--;
    containerMs += t - c.startedAt;
    containers.splice(containers.indexOf(c), 1);
    changedNext = true;
  };

  const callFailed = (logical: number, client: number, t: number): void => {
    if (!guards.idempotencyKeys && client < work.clientRetries) clientCalls.push({ at: t + work.clientRetryDelayMs, logical, client: client + 1 });
    else calls.failed++;
  };

  const arrive = (logical: number, client: number, at: number, t: number): void => {
    calls.client++;
    recentArrivals.push(at);
    if (live === 0) coldArrivals++;
    if (!guards.admit(t)) {
      calls.rejected++;
      callFailed(logical, client, t);
      return;
    }
    calls.firstAttempts++;
    queue.push({ logical, client, attempt: 1, enqueuedAt: at });
    queued++;
  };

  let t = 0;
  let truncated = false;
  for (; ; t += dtMs) {
    let changed = changedNext;
    changedNext = false;

    // 1. Attempts that ended.
    for (let r = running.peek(); r !== undefined && r.end <= t; r = running.peek()) {
      running.pop();
      const c = r.ctr;
      c.inFlight--;
      inFlight--;
      if (c.inFlight === 0) {
        c.idleSince = t;
        if (c.phase === DRAINING) stop(c, t);
      }
      serviceEwma = serviceEwma === null ? r.serviceMs : serviceEwma + 0.1 * (r.serviceMs - serviceEwma);
      const a = r.att;
      const ok = work.failureRate <= 0 || fate(work.seed, a.logical, a.client, a.attempt) >= work.failureRate;
      guards.record(t, ok);
      if (ok) calls.succeeded++;
      else if (guards.retry(t, a.attempt, fn.retries.maxRetries)) {
        delayed.push({ due: t + retryDelayMs(fn.retries, a.attempt), att: { ...a, attempt: a.attempt + 1 } });
      } else callFailed(a.logical, a.client, t);
    }

    // 2. Cold starts that are over.
    if (starting > 0) {
      for (const c of containers) {
        if (c.phase !== STARTING || c.readyAt > t) continue;
        c.phase = READY;
        c.idleSince = t;
        starting--;
        coldStarts.push(c.readyAt - c.startedAt);
        changed = true;
      }
    }

    // 3. Retries back from their delay, then new calls (first calls and client retries in time order).
    for (let d = delayed.peek(); d !== undefined && d.due <= t; d = delayed.peek()) {
      delayed.pop();
      d.att.enqueuedAt = t;
      queue.push(d.att);
      queued++;
    }
    for (;;) {
      const staticAt = next < n ? (work.arrivalMs[next] as number) : Infinity;
      const dyn = clientCalls.peek();
      const dynAt = dyn === undefined ? Infinity : dyn.at;
      if (staticAt > t && dynAt > t) break;
      if (staticAt <= dynAt) arrive(next++, 0, staticAt, t);
      else {
        clientCalls.pop();
        arrive((dyn as { logical: number }).logical, (dyn as { client: number }).client, dynAt, t);
      }
    }

    // 4. Dispatch.
    let pressure = false;
    while (queued > 0) {
      const c = pick(containers, target, maxInputs);
      if (c === null) {
        pressure = live < maxContainers;
        break;
      }
      const a = queue.shift() as Att;
      queued--;
      const service = work.serviceMs[a.logical] as number;
      c.inFlight++;
      c.idleSince = null;
      inFlight++;
      waits.push(t - a.enqueuedAt);
      serviceTotalMs += service;
      calls.attempts++;
      if (a.attempt === 1) guards.first?.(t);
      attemptsOf[a.logical] = (attemptsOf[a.logical] as number) + 1;
      running.push({ end: t + service, ctr: c, att: a, serviceMs: service });
    }

    // 5. The policy.
    const load = inFlight + queued + delayed.size;
    windows?.push(live > 0 || load > 0 ? load : NaN);
    busy.push(live > 0 || load > 0 ? inFlight : NaN);
    peak.push(inFlight + queued);
    const ev = policy.evaluation;
    if ((pressure && ev.onPressure) || (changed && ev.onChange) || (live === 0 && queued > 0 && ev.fromZero) || tickMs === 0 || (t + tickMs - phase) % tickMs === 0) {
      const obs = observe(containers, queued, delayed.size, inFlight, coldStarts, serviceEwma, recentArrivals, t, windows, policy.windowsMs, busy.average(busyWindowMs), peak.max, guards.open(t));
      const out = policy.decide(config, obs, t, state);
      state = out.state;
      const d = out.decision;
      if (d.start > 0 || d.stop.length > 0) actions++;
      for (const id of d.stop) {
        const c = containers.find((x) => x.id === id && x.phase !== DRAINING);
        if (c === undefined) throw new Error(`${policy.name} at ${t} ms: stop ${id}, which is not a live container`);
        if (c.phase === READY && c.inFlight > 0) {
          c.phase = DRAINING;
          live--;
        } else stop(c, t);
      }
      if (live + d.start > maxContainers) throw new Error(`${policy.name} at ${t} ms: ${live} live + ${d.start} starting > maxContainers ${maxContainers}`);
      if (d.start > 0 && guards.open(t)) startsWhileOpen += d.start;
      for (let i = 0; i < d.start; i++) {
        containers.push({ id: `c${++seq}`, phase: STARTING, startedAt: t, readyAt: t + coldStartMs, inFlight: 0, idleSince: null });
        starting++;
        live++;
        starts++;
      }
      if (starting > peakStarts) peakStarts = starting;
      if (live > peakContainers) peakContainers = live;
    }

    const quiet = queued === 0 && delayed.size === 0 && running.size === 0 && clientCalls.size === 0;
    if (quiet && next >= n && containers.length === 0) break;
    if (t > lastArrival + params.tailLimitMs) {
      truncated = true;
      break;
    }
    // Nothing live, nothing pending: jump to the step before the next call (no policy acts on nothing).
    if (quiet && containers.length === 0 && next < n) {
      const skip = Math.floor(((work.arrivalMs[next] as number) - t) / dtMs) - 1;
      if (skip > 0) {
        t += skip * dtMs;
        windows?.skip(skip);
        busy.skip(skip);
        peak.skip(skip);
      }
    }
  }
  for (const c of containers) containerMs += t - c.startedAt;

  let maxAttempts = 0;
  let sumAttempts = 0;
  for (let i = 0; i < n; i++) {
    const k = attemptsOf[i] as number;
    sumAttempts += k;
    if (k > maxAttempts) maxAttempts = k;
  }
  calls.attemptsPerLogicalMean = n === 0 ? 0 : sumAttempts / n;
  calls.attemptsPerLogicalMax = maxAttempts;
  const sorted = Float64Array.from(waits).sort();
  return {
    policy: policy.name,
    containerSeconds: containerMs / 1000,
    idealSeconds: serviceTotalMs / maxInputs / 1000,
    starts,
    peakConcurrentStarts: peakStarts,
    waitP50: percentile(sorted, 0.5) / 1000,
    waitP90: percentile(sorted, 0.9) / 1000,
    waitP99: percentile(sorted, 0.99) / 1000,
    waitMax: (sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number)) / 1000,
    peakContainers,
    coldArrivals,
    actions,
    calls,
    startsWhileOpen,
    endSeconds: t / 1000,
    truncated,
  };
}

/**
 * FunctionRuntime.pick(): the oldest ready container below targetInputs, else the least busy one below
 * maxInputs (the first of equals), else none.
 */
function pick(containers: readonly Ctr[], target: number, max: number): Ctr | null {
  let burst: Ctr | null = null;
  for (const c of containers) {
    if (c.phase !== READY) continue;
    if (c.inFlight < target) return c;
    if (c.inFlight < max && (burst === null || c.inFlight < burst.inFlight)) burst = c;
  }
  return burst;
}

function observe(
  containers: readonly Ctr[],
  queued: number,
  delayed: number,
  inFlight: number,
  coldStarts: readonly number[],
  serviceMs: number | null,
  recentArrivals: Deque<number>,
  t: number,
  windows: LoadWindows | null,
  windowsMs: readonly number[],
  inFlightAverage: number,
  peakLoad: number,
  open: boolean,
): PolicyObservation {
  const view: ContainerView[] = [];
  for (const c of containers) {
    if (c.phase === DRAINING) continue;
    view.push({ id: c.id, state: c.phase === STARTING ? "starting" : "ready", inFlight: c.inFlight, idleSince: c.idleSince, startedAt: c.startedAt });
  }
  let cold: number | null = null;
  if (coldStarts.length > 0) {
    const last = coldStarts.slice(-5);
    cold = last.reduce((a, b) => a + b, 0) / last.length;
  }
  for (let h = recentArrivals.peek(); h !== undefined && h <= t - 10_000; h = recentArrivals.peek()) recentArrivals.shift();
  const averages: Record<number, number> = {};
  if (windows !== null) for (const w of windowsMs) averages[w] = windows.average(w);
  return {
    queued,
    delayed,
    inFlight,
    containers: view,
    estimates: { coldStartMs: cold, serviceMs, arrivalsPerSec: recentArrivals.length / 10, inFlightAverage, peakLoad },
    averages,
    breaker: open ? "open" : "closed",
  };
}

/** A uniform number in [0, 1) fixed by the seed and the attempt's identity (murmur3's 32-bit finaliser). */
export function fate(seed: number, logical: number, client: number, attempt: number): number {
  let h = mix((seed ^ 0x9e3779b9) >>> 0);
  h = mix((h ^ logical) >>> 0);
  h = mix((h ^ ((client << 16) | attempt)) >>> 0);
  return h / 4294967296;
}

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
