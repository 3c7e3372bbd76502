/**
 * The autoscaler's decision, as a pure function of the function's settings, what was observed and the
 * time: no I/O, no clock reads, so every case is a row of a table test.
 *
 *   desired = clamp(ceil((inFlight + queued) / perContainer) + (active ? bufferContainers : 0),
 *                   minContainers, maxContainers)
 *
 * where perContainer = targetInputs × maxBatchSize (1 without batching) and `active` means some input is
 * queued or running. E.g. targetInputs 4, 3 in flight + 10 queued, buffer 1, max 5:
 * ceil(13 / 4) + 1 = 5 → 5 containers.
 *
 * Scale-up starts the missing containers at once, unless a start back-off holds (the pool's, after
 * failed starts: 1 s after one failure, 2 s after two, 4 s after three … at most 30 s), and then starts
 * none: `desired` still says what is wanted, and the reason says why nothing starts. Scale-down never
 * stops a container with an input in flight and stops only containers idle for at least
 * scaledownWindow, longest idle first; containers still starting are never stopped (they count
 * towards `desired`).
 */

export interface ScaleConfig {
  minContainers: number;
  maxContainers: number;
  bufferContainers: number;
  targetInputs: number;
  /** 1 without batching. */
  batchSize: number;
  scaledownWindowMs: number;
}

export interface ContainerObservation {
  id: string;
  state: "starting" | "ready";
  inFlight: number;
  /** When it last became idle; null while busy or starting. */
  idleSince: number | null;
}

export interface Observation {
  queued: number;
  inFlight: number;
  /** Live containers (starting or ready; draining ones are already on their way out). */
  containers: readonly ContainerObservation[];
  /** After failed starts: no container starts before `until` (epoch ms). Absent: none failed. */
  startBackoff?: { until: number; failures: number };
}

export interface Decision {
  desired: number;
  /** Containers to start now. */
  start: number;
  /** Containers to drain and stop now. */
  stop: string[];
  /** Why, in words with the numbers, for logs and the function status. */
  reason: string;
}

export function desiredContainers(config: ScaleConfig, queued: number, inFlight: number): { desired: number; raw: number } {
  const load = queued + inFlight;
  const perContainer = Math.max(1, config.targetInputs * config.batchSize);
  const raw = Math.ceil(load / perContainer) + (load > 0 ? config.bufferContainers : 0);
  return { desired: Math.min(config.maxContainers, Math.max(config.minContainers, raw)), raw };
}

export function decide(config: ScaleConfig, obs: Observation, now: number): Decision {
  const { desired, raw } = desiredContainers(config, obs.queued, obs.inFlight);
  const live = obs.containers.length;
  const load = `${obs.inFlight} in flight + ${obs.queued} queued`;
  const formula = `ceil(${obs.inFlight + obs.queued} / ${config.targetInputs * config.batchSize})${obs.inFlight + obs.queued > 0 && config.bufferContainers > 0 ? ` + buffer ${config.bufferContainers}` : ""} = ${raw}`;
  const clamp = raw !== desired ? `, clamped to [${config.minContainers}, ${config.maxContainers}] = ${desired}` : "";
  if (desired > live) {
    const reason = `scale up ${live} → ${desired}: ${load}, ${formula}${clamp}`;
    const backoff = obs.startBackoff;
    if (backoff !== undefined && now < backoff.until) return { desired, start: 0, stop: [], reason: `${reason}; start held back ${backoff.until - now}ms after ${backoff.failures} failed start(s)` };
    return { desired, start: desired - live, stop: [], reason };
  }
  if (desired < live) {
    const idle = obs.containers
      .filter((c) => c.state === "ready" && c.inFlight === 0 && c.idleSince !== null && now - c.idleSince >= config.scaledownWindowMs)
      .sort((a, b) => (a.idleSince as number) - (b.idleSince as number));
    const stop = idle.slice(0, live - desired).map((c) => c.id);
    if (stop.length === 0) {
      return { desired, start: 0, stop, reason: `hold ${live} (want ${desired}): no container idle for scaledownWindow ${config.scaledownWindowMs / 1000}s` };
    }
    return {
      desired,
      start: 0,
      stop,
      reason: `scale down ${live} → ${live - stop.length}: ${load}, ${formula}${clamp}; stopping ${stop.join(", ")} idle ≥ ${config.scaledownWindowMs / 1000}s`,
    };
  }
  return { desired, start: 0, stop: [], reason: `steady at ${live}: ${load}` };
}
