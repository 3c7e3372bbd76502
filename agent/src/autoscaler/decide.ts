/**
 * The autoscaler's decision, as a pure function of the function's settings, what was observed and the
 * time: no I/O, no clock reads, so every case is a row of a table test. What the agent measured of the
 * recent past (cold starts, service time, arrivals, the average load) comes in the observation's
 * `estimates` (autoscaler/estimates.ts measures them).
 *
 * The ceiling is Modal's rule, as before issue 15:
 *
 *   ceiling = clamp(ceil((inFlight + queued) / perTarget) + (active ? bufferContainers : 0), min, max)
 *
 * where perTarget = targetInputs × maxBatchSize (1 without batching) and `active` means some input is
 * queued or running. `queued` never counts inputs waiting out a retry delay: they are demand that
 * failed, and must not grow the function (issue 15: no retry storms).
 *
 * Scale-up starts only what the projected backlog needs (the cold-start gate). A container started now
 * is useful only if, when it is ready (after the cold-start estimate C), inputs still wait that the
 * containers already ready or warming cannot hold. With R ready containers of perMax = maxInputs ×
 * maxBatchSize slots each, service time s and W warming containers:
 *
 *   backlog at C = inFlight + queued − R × perMax × (1 + C / s) − W × perMax
 *   need        = R + W + ceil(backlog at C / perMax),  at least ceil(arrivals/s × s / perTarget)
 *
 * E.g. 20 calls at zero, C 20 s, s 3 s, maxInputs 8: backlog 20 → 3 containers, where the ceiling
 * (targetInputs 6) says 4. 4 ready containers all at 8 in flight with 5 more queued, s 2 s, C 20 s:
 * they finish 4 × 8 × 10 = 320 inputs before a new container would be ready → no start: the 5 inputs
 * wait for a slot (≈ 0.1 s) instead of paying 20 s of cold start. Unknown C or s count as 0 (a new
 * container is assumed useful at once), so before anything was measured the gate only uses maxInputs.
 * At most `maxConcurrentStarts` containers are starting at once. The breaker (queue/breaker.ts) open
 * means the demand is failing: nothing starts; half-open, one starts if none is live (for the probe).
 * A start back-off (the pool's, after failed starts: 1 s, 2 s, 4 s … at most 30 s) starts none.
 *
 * Scale-down follows load (Knative's stable window): over the last scaledownWindow,
 *
 *   keep = max(ceiling, ceil(average in flight / perTarget), busy ? ceil(peak load / perMax) : 0,
 *              peak load > 0 ? 1 : 0)
 *
 * and idle containers beyond `keep` stop now, longest idle first. While inputs run, the window's peak
 * held at maxInputs each keeps the containers a recurring spike needs (on the conversation trace,
 * the average alone gave a p99 wait of 1.8 s against 0.1 s: spikes came back after their containers
 * had stopped, and paid 20 s cold starts); once nothing runs, only the average holds containers, so
 * between bursts they stop as soon as the window's average allows (20 calls of 3 s: one container is
 * kept for the window, not the burst's three). So scaledownWindow is (1) the window these cover, (2)
 * the longest an idle surplus container lives (one idle that long stops whatever the average), and
 * (3) the delay before the last container stops after the load ended. Never a container with an input
 * in flight, never one still starting. `desired` stays the ceiling (what the load needs now, for
 * status and metrics); how many stay is `keep`, in the reason.
 */

export interface ScaleConfig {
  minContainers: number;
  maxContainers: number;
  bufferContainers: number;
  targetInputs: number;
  /** The hard per-container limit the dispatcher bursts to. */
  maxInputs: number;
  /** 1 without batching. */
  batchSize: number;
  scaledownWindowMs: number;
  /** Containers starting at once, at most. */
  maxConcurrentStarts: number;
}

export interface ContainerObservation {
  id: string;
  state: "starting" | "ready";
  inFlight: number;
  /** When it last became idle; null while busy or starting. */
  idleSince: number | null;
}

/** Measured from what already happened; null until there is something to measure. */
export interface Estimates {
  /** Mean start → ready of the last containers that became ready. */
  coldStartMs: number | null;
  /** Mean time an input spent in a container, recently. */
  serviceMs: number | null;
  /** Inputs that arrived over the last seconds, per second (retries excluded). */
  arrivalsPerSec: number;
  /** Mean in flight over the last scaledownWindow (Knative's stable window); null: not measured. */
  inFlightAverage: number | null;
  /** Highest load (in flight + queued) seen over the last scaledownWindow; null: not measured. */
  peakLoad: number | null;
}

export interface Observation {
  /** Inputs waiting for a container (not those waiting out a retry delay). */
  queued: number;
  inFlight: number;
  /** Live containers (starting or ready; draining ones are already on their way out). */
  containers: readonly ContainerObservation[];
  /** After failed starts or containers that crashed soon after ready: no container starts before `until` (epoch ms). Absent: none failed. */
  startBackoff?: { until: number; failures: number; crashes?: number };
  /** Absent: nothing measured yet (the gate then uses maxInputs only; no load-following). */
  estimates?: Estimates;
  /** The function's breaker: open means recent attempts mostly fail. Absent: closed. */
  breaker?: "closed" | "open" | "half-open";
}

export interface Decision {
  desired: number;
  /** Containers to start now. */
  start: number;
  /** Containers to drain and stop now. */
  stop: string[];
  /** Why, in words with the numbers, for logs and the function status. */
  reason: string;
  /** Why the containers the load needs are not started now (the breaker, a start back-off); absent when none is held. */
  held?: string;
}

export function desiredContainers(config: ScaleConfig, queued: number, inFlight: number): { desired: number; raw: number } {
  const load = queued + inFlight;
  const perContainer = Math.max(1, config.targetInputs * config.batchSize);
  const raw = Math.ceil(load / perContainer) + (load > 0 ? config.bufferContainers : 0);
  return { desired: clamp(config, raw), raw };
}

function clamp(config: ScaleConfig, n: number): number {
  return Math.min(config.maxContainers, Math.max(config.minContainers, n));
}

/** The cold-start gate: how many containers the projected backlog needs, and the words for it. */
export function gate(config: ScaleConfig, obs: Observation): { need: number; why: string } {
  const perMax = Math.max(1, config.maxInputs * config.batchSize);
  const perTarget = Math.max(1, config.targetInputs * config.batchSize);
  const est = obs.estimates;
  const c = est?.coldStartMs ?? null;
  const s = est?.serviceMs ?? null;
  const rate = est?.arrivalsPerSec ?? 0;
  let ready = 0;
  let warming = 0;
  for (const x of obs.containers) x.state === "ready" ? ready++ : warming++;
  const turns = c !== null && s !== null && s > 0 ? c / s : 0;
  const backlog = Math.max(0, obs.inFlight + obs.queued - ready * perMax * (1 + turns) - warming * perMax);
  const steady = s === null ? 0 : Math.ceil((rate * s) / 1000 / perTarget);
  const need = Math.max(ready + warming + Math.ceil(backlog / perMax), steady, Math.ceil(obs.inFlight / perMax));
  const fmt = (ms: number | null): string => (ms === null ? "?" : `${(ms / 1000).toFixed(1)}s`);
  const why = `gate: cold start ${fmt(c)}, service ${fmt(s)}, ${rate.toFixed(1)} arrivals/s; backlog at ready ${Math.ceil(backlog)}, ${ready} ready + ${warming} warming → need ${need}${steady > ready + warming ? ` (arrivals need ${steady})` : ""}`;
  return { need, why };
}

export function decide(config: ScaleConfig, obs: Observation, now: number): Decision {
  const { desired: ceiling, raw } = desiredContainers(config, obs.queued, obs.inFlight);
  const live = obs.containers.length;
  const load = `${obs.inFlight} in flight + ${obs.queued} queued`;
  const perTarget = config.targetInputs * config.batchSize;
  const formula = `ceil(${obs.inFlight + obs.queued} / ${perTarget})${obs.inFlight + obs.queued > 0 && config.bufferContainers > 0 ? ` + buffer ${config.bufferContainers}` : ""} = ${raw}`;
  const clamped = raw !== ceiling ? `, clamped to [${config.minContainers}, ${config.maxContainers}] = ${ceiling}` : "";
  if (ceiling > live) {
    const active = obs.inFlight + obs.queued > 0;
    const g = gate(config, obs);
    const desired = Math.max(live, Math.min(ceiling, clamp(config, g.need + (active ? config.bufferContainers : 0))));
    const head = `scale up ${live} → ${desired}: ${load}, ${formula}${clamped}; ${g.why}`;
    if (obs.breaker === "open" || (obs.breaker === "half-open" && live > 0)) {
      return { desired, start: 0, stop: [], reason: `${head}; breaker ${obs.breaker}: no start for failing demand`, held: `breaker ${obs.breaker}: no start for failing demand` };
    }
    const backoff = obs.startBackoff;
    if (backoff !== undefined && now < backoff.until) {
      const held = `start held back ${backoff.until - now}ms after ${heldBackBy(backoff)}`;
      return { desired, start: 0, stop: [], reason: `${head}; ${held}`, held };
    }
    let warming = 0;
    for (const x of obs.containers) if (x.state === "starting") warming++;
    // Half-open at zero: one container, for the one probe call the breaker lets through.
    const room = obs.breaker === "half-open" ? 1 : Math.max(0, config.maxConcurrentStarts - warming);
    const start = Math.min(desired - live, room);
    const capped = start < desired - live ? `; ${warming} starting, maxConcurrentStarts ${config.maxConcurrentStarts}: start ${start}` : "";
    return { desired, start, stop: [], reason: `${head}${capped}` };
  }
  const avg = obs.estimates?.inFlightAverage ?? null;
  const peak = obs.estimates?.peakLoad ?? null;
  const follow = avg !== null;
  const busy = obs.inFlight + obs.queued > 0;
  const peakNeed = busy && peak !== null ? Math.ceil(peak / Math.max(1, config.maxInputs * config.batchSize)) : 0;
  // Any load in the window keeps one: the last container stops scaledownWindow after the load ended.
  const anyLoad = peak !== null && peak > 0 ? 1 : 0;
  const stable = follow ? clamp(config, Math.max(Math.ceil(avg / Math.max(1, perTarget)), peakNeed, anyLoad)) : ceiling;
  const keep = Math.max(ceiling, stable);
  const idle = obs.containers
    .filter((c): c is ContainerObservation & { idleSince: number } => c.state === "ready" && c.inFlight === 0 && c.idleSince !== null)
    .sort((a, b) => a.idleSince - b.idleSince);
  const stop: string[] = [];
  let early = 0;
  for (const c of idle) {
    const windowOver = now - c.idleSince >= config.scaledownWindowMs;
    if ((stop.length < live - keep && (follow || windowOver)) || (stop.length < live - ceiling && windowOver)) {
      stop.push(c.id);
      if (!windowOver) early++;
    }
  }
  // `desired` stays what the load needs now (status, metrics); `keep` is how many of the live ones stay.
  const desired = ceiling;
  const average = follow ? `, over ${config.scaledownWindowMs / 1000}s: average in flight ${avg.toFixed(2)}${busy && peak !== null ? `, peak ${peak}` : ""} → keep ${stable}` : "";
  if (stop.length > 0) {
    return {
      desired,
      start: 0,
      stop,
      reason: `scale down ${live} → ${live - stop.length}: ${load}, ${formula}${clamped}${average}; stopping ${stop.join(", ")} ${early === 0 ? `idle ≥ ${config.scaledownWindowMs / 1000}s` : "idle, beyond the load average"}`,
    };
  }
  if (keep < live) return { desired, start: 0, stop, reason: `hold ${live} (want ${keep}${average}): no container idle for scaledownWindow ${config.scaledownWindowMs / 1000}s` };
  return { desired, start: 0, stop: [], reason: `steady at ${live}: ${load}${average}` };
}

/** What a start back-off follows: failed starts, containers that crashed soon after ready, or both. */
function heldBackBy(b: { failures: number; crashes?: number }): string {
  const why = [...(b.failures > 0 ? [`${b.failures} failed start(s)`] : []), ...((b.crashes ?? 0) > 0 ? [`${b.crashes} crash(es) soon after ready`] : [])];
  return why.length > 0 ? why.join(" and ") : "0 failed start(s)";
}
