/**
 * The last hour of each function, for the dashboard: 360 buckets of 10 s, each holding the calls that
 * settled in it (by outcome), their latency from acceptance to result (count, sum, and a log-scale
 * histogram from which percentiles are read to within 1.5×), and the largest queue depth, inputs in
 * flight and live containers sampled in it. Also the last 50 failed calls. Memory: 360 × (7 numbers
 * + 24 bins) ≈ 11,000 numbers per function, whatever the traffic.
 *
 * Buckets are filled on the injected clock: `record` when an input settles, `sample` once per
 * autoscaler tick (1 s), so a quiet function costs one array write a second.
 */

export const BUCKET_MS = 10_000;
export const BUCKETS = 360;
/** Latency bins: bin i holds latencies up to 2^(i/2) ms × 1 ms (1 ms … 2^11.5 s ≈ 50 min). */
const BINS = 24;

interface Bucket {
  start: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  latencySumMs: number;
  latencyBins: number[];
  queued: number;
  inFlight: number;
  containers: number;
}

export interface Failure {
  at: string;
  callId: string;
  function: string;
  type: string;
  message: string;
}

export interface SeriesPoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  calls: number;
  failed: number;
  /** Median and 95th percentile latency of the calls that settled in the bucket (ms), null without calls. */
  p50: number | null;
  p95: number | null;
  queued: number;
  inFlight: number;
  containers: number;
}

function binOf(ms: number): number {
  if (ms <= 1) return 0;
  return Math.min(BINS - 1, Math.ceil(2 * Math.log2(ms)));
}

/** The upper edge of bin i, in ms. */
const edge = (i: number): number => 2 ** (i / 2);

function percentile(bins: readonly number[], q: number): number | null {
  let total = 0;
  for (const n of bins) total += n;
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i] as number;
    if (seen >= q * total) return Math.round(edge(i) * 10) / 10;
  }
  return Math.round(edge(BINS - 1));
}

class FunctionSeries {
  private readonly ring: Array<Bucket | undefined> = new Array(BUCKETS);

  bucket(now: number): Bucket {
    const start = now - (now % BUCKET_MS);
    const i = Math.floor(start / BUCKET_MS) % BUCKETS;
    let b = this.ring[i];
    if (b === undefined || b.start !== start) {
      b = { start, succeeded: 0, failed: 0, cancelled: 0, latencySumMs: 0, latencyBins: new Array<number>(BINS).fill(0), queued: 0, inFlight: 0, containers: 0 };
      this.ring[i] = b;
    }
    return b;
  }

  points(now: number): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    const last = now - (now % BUCKET_MS);
    for (let start = last - (BUCKETS - 1) * BUCKET_MS; start <= last; start += BUCKET_MS) {
      const b = this.ring[Math.floor(start / BUCKET_MS) % BUCKETS];
      if (b === undefined || b.start !== start) out.push({ t: start, calls: 0, failed: 0, p50: null, p95: null, queued: 0, inFlight: 0, containers: 0 });
      else
        out.push({
          t: start,
          calls: b.succeeded + b.failed + b.cancelled,
          failed: b.failed,
          p50: percentile(b.latencyBins, 0.5),
          p95: percentile(b.latencyBins, 0.95),
          queued: b.queued,
          inFlight: b.inFlight,
          containers: b.containers,
        });
    }
    return out;
  }
}

export class Series {
  private readonly functions = new Map<string, FunctionSeries>();
  private readonly failures: Failure[] = [];

  private of(fn: string): FunctionSeries {
    let s = this.functions.get(fn);
    if (s === undefined) {
      s = new FunctionSeries();
      this.functions.set(fn, s);
    }
    return s;
  }

  /** An input of `fn` settled at `now`, `latencyMs` after it was accepted. */
  record(fn: string, outcome: "completed" | "failed" | "cancelled", latencyMs: number, now: number, failure?: { callId: string; type: string; message: string }): void {
    const b = this.of(fn).bucket(now);
    if (outcome === "completed") b.succeeded++;
    else if (outcome === "failed") b.failed++;
    else b.cancelled++;
    b.latencySumMs += latencyMs;
    (b.latencyBins[binOf(latencyMs)] as number)++;
    if (failure !== undefined) {
      this.failures.push({ at: new Date(now).toISOString(), function: fn, ...failure });
      if (this.failures.length > 50) this.failures.shift();
    }
  }

  /** What the function looked like at `now` (the bucket keeps the largest of its samples). */
  sample(fn: string, now: number, queued: number, inFlight: number, containers: number): void {
    const b = this.of(fn).bucket(now);
    b.queued = Math.max(b.queued, queued);
    b.inFlight = Math.max(b.inFlight, inFlight);
    b.containers = Math.max(b.containers, containers);
  }

  points(fn: string, now: number): SeriesPoint[] {
    return this.of(fn).points(now);
  }

  recentFailures(): readonly Failure[] {
    return this.failures;
  }

  forget(fn: string): void {
    this.functions.delete(fn);
  }
}
