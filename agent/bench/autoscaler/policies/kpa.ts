/**
 * A Knative-KPA-style policy: Knative Serving's pkg/autoscaler/scaling/autoscaler.go Scale() with its
 * defaults, on the load (inputs in flight + queued) instead of its scraped request concurrency.
 *
 *   target per container = 70 % × targetInputs (E.g. targetInputs 6 → 4.2)
 *   stable = ceil(average load over 60 s / target), panic = ceil(average over 6 s / target),
 *   each kept within [floor(ready / 2), ceil(1000 × ready)] (max scale-down rate 2, scale-up 1000;
 *   ready counted as at least 1)
 *   panic mode starts when panic / ready ≥ 2 and ends 60 s after that last held; while panicking the
 *   count is max(stable, panic) and never goes down;
 *   to zero only once the stable average is 0 (a whole window without load) and 30 s more (the
 *   scale-to-zero grace period).
 *
 * Evaluated every 2 s (Knative's tick) and at once when inputs wait with no container (the activator
 * pokes the autoscaler when a request reaches a revision at zero). Replicas are the live containers,
 * starting ones included; on scale-down it removes starting ones first, then idle ones, then the least
 * busy (which drain), as a ReplicaSet picks not-ready pods first.
 */
import type { Policy } from "../policy";

const STABLE_MS = 60_000;
const PANIC_MS = 6_000;
const GRACE_MS = 30_000;
const UTILIZATION = 0.7;
const PANIC_THRESHOLD = 2;
const MAX_SCALE_UP_RATE = 1000;
const MAX_SCALE_DOWN_RATE = 2;

export interface KpaState {
  /** Last time the panic threshold was crossed; null when not panicking. */
  panicTime: number | null;
  maxPanicPods: number;
  /** Since when the count would be 0 (the grace period runs from here). */
  zeroSince: number | null;
}

export const kpa: Policy<KpaState> = {
  name: "kpa",
  about: "Knative KPA: 60 s stable / 6 s panic averages, target 70 % of targetInputs, no scale-down while panicking, zero after window + 30 s",
  evaluation: { tickMs: 2000, onPressure: false, onChange: false, fromZero: true },
  windowsMs: [STABLE_MS, PANIC_MS],
  init: () => ({ panicTime: null, maxPanicPods: 0, zeroSince: null }),
  decide(config, obs, now, state) {
    const s = config.scale;
    const target = UTILIZATION * s.targetInputs * s.batchSize;
    let ready = 0;
    for (const c of obs.containers) if (c.state === "ready") ready++;
    const readyPods = Math.max(1, ready);
    const stableAvg = obs.averages[STABLE_MS] ?? 0;
    const panicAvg = obs.averages[PANIC_MS] ?? 0;
    const maxUp = Math.ceil(MAX_SCALE_UP_RATE * readyPods);
    const maxDown = Math.floor(readyPods / MAX_SCALE_DOWN_RATE);
    const dspc = Math.ceil(stableAvg / target);
    const dppc = Math.ceil(panicAvg / target);
    const stablePods = Math.min(Math.max(dspc, maxDown), maxUp);
    const panicPods = Math.min(Math.max(dppc, maxDown), maxUp);
    const over = dppc / readyPods >= PANIC_THRESHOLD;

    let { panicTime, maxPanicPods, zeroSince } = state;
    if (over) panicTime = now;
    else if (panicTime !== null && panicTime + STABLE_MS < now) {
      panicTime = null;
      maxPanicPods = 0;
    }
    let desired = stablePods;
    let mode = "stable";
    if (panicTime !== null) {
      mode = "panic";
      desired = Math.max(desired, panicPods);
      if (desired > maxPanicPods) maxPanicPods = desired;
      else desired = maxPanicPods;
    }
    desired = Math.min(s.maxContainers, Math.max(s.minContainers, desired));
    const live = obs.containers.length;
    if (desired === 0 && live > 0) {
      zeroSince ??= now;
      if (now - zeroSince < GRACE_MS) desired = live; // the last ones stay until the grace period is over
    } else zeroSince = null;

    const reason = `kpa ${mode}: averages ${stableAvg.toFixed(2)} (60 s) / ${panicAvg.toFixed(2)} (6 s) over target ${target.toFixed(1)} → ${desired}`;
    const next: KpaState = { panicTime, maxPanicPods, zeroSince };
    if (desired >= live) return { decision: { desired, start: desired - live, stop: [], reason }, state: next };
    const order = [...obs.containers].sort((a, b) => rank(a) - rank(b) || a.inFlight - b.inFlight || (a.idleSince ?? Infinity) - (b.idleSince ?? Infinity));
    return { decision: { desired, start: 0, stop: order.slice(0, live - desired).map((c) => c.id), reason }, state: next };
  },
};

/** Which replicas go first: not ready, then idle, then busy. */
function rank(c: { state: string; inFlight: number }): number {
  return c.state === "starting" ? 0 : c.inFlight === 0 ? 1 : 2;
}
