/**
 * The autoscaler's estimates of one function (decide.ts `Estimates`), measured from cumulative counters
 * sampled at each observation, so that decide() stays pure:
 *
 *   arrivals/s       = Δ inputs enqueued over the last ARRIVAL_WINDOW_MS (10 s) ÷ its span
 *   in-flight average = Δ ∫inFlight dt over the last `windowMs` (scaledownWindow) ÷ its span
 *   service time      = Δ ∫inFlight dt ÷ Δ inputs ended over the same window (Little's law: the mean time
 *                       an input spends in a container, with no per-input bookkeeping)
 *   cold start        = the pool's mean of its last 5 starts
 *   peak load         = the highest in flight + queued at the observations within the window (the
 *                       runner observes at least every tick, 1 s, and whenever inputs wait)
 *
 * E.g. 2 inputs in flight all the time over 60 s while 40 ended: average 2, service 120,000 / 40 = 3 s.
 * A span shorter than MIN_SPAN_MS (1 s) measures nothing (null), as Knative needs data before it
 * scales on an average; until the window is full the average covers the time since the first sample.
 */
import type { Estimates } from "./decide";

/** The counters one function exposes (Load, Lane, ContainerPool), read at `now`. */
export interface Counters {
  /** In flight + queued now (the peak is the highest of these at the samples in the window). */
  load: number;
  busyMs: number;
  ended: number;
  arrived: number;
  coldStartMs: number | null;
}

interface Sample {
  at: number;
  load: number;
  busyMs: number;
  ended: number;
  arrived: number;
}

export const ARRIVAL_WINDOW_MS = 10_000;
const MIN_SPAN_MS = 1000;
/** At most one kept sample per this long: observe() may run many times a second under pressure. */
const SAMPLE_EVERY_MS = 250;

export class Estimator {
  private readonly samples: Sample[] = [];

  constructor(private readonly windowMs: number) {}

  /** The estimates at `now`, given the counters now; keeps a sample for later estimates. */
  sample(now: number, c: Counters): Estimates {
    const last = this.samples.at(-1);
    if (last === undefined || now - last.at >= SAMPLE_EVERY_MS) this.samples.push({ at: now, load: c.load, busyMs: c.busyMs, ended: c.ended, arrived: c.arrived });
    else if (c.load > last.load) last.load = c.load;
    const horizon = Math.max(this.windowMs, ARRIVAL_WINDOW_MS);
    // Keep one sample at or before the horizon, so the window is always covered once it can be.
    while (this.samples.length > 2 && (this.samples[1] as Sample).at <= now - horizon) this.samples.shift();
    const base = this.at(now - this.windowMs);
    const arrivalBase = this.at(now - ARRIVAL_WINDOW_MS);
    const span = base === undefined ? 0 : now - base.at;
    const arrivalSpan = arrivalBase === undefined ? 0 : now - arrivalBase.at;
    const busy = base === undefined ? 0 : c.busyMs - base.busyMs;
    const ended = base === undefined ? 0 : c.ended - base.ended;
    let peak = c.load;
    for (const x of this.samples) if (x.at >= now - this.windowMs && x.load > peak) peak = x.load;
    return {
      coldStartMs: c.coldStartMs,
      serviceMs: span >= MIN_SPAN_MS && ended > 0 ? busy / ended : null,
      arrivalsPerSec: arrivalSpan >= MIN_SPAN_MS && arrivalBase !== undefined ? ((c.arrived - arrivalBase.arrived) * 1000) / arrivalSpan : 0,
      inFlightAverage: span >= MIN_SPAN_MS ? busy / span : null,
      peakLoad: peak,
    };
  }

  /** The newest sample taken at or before `from` (the window's start), or the oldest when none is that old. */
  private at(from: number): Sample | undefined {
    let found = this.samples[0];
    for (const s of this.samples) {
      if (s.at > from) break;
      found = s;
    }
    return found;
  }
}
