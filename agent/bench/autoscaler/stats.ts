/**
 * Small numeric helpers of the autoscaler benchmark: percentiles, a median with its spread, a binary
 * heap for the simulation's timed events, and the load-averaging windows Knative's autoscaler reads.
 */

/** Nearest-rank percentile of an ascending array (p in (0, 1]); 0 for an empty one. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length === 0 ? NaN : s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, runs: [...values] };
}

/** A binary min-heap: `compare(a, b)` < 0 puts a first. */
export class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.compare(a[i] as T, a[p] as T) >= 0) break;
      [a[i], a[p]] = [a[p] as T, a[i] as T];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.compare(a[l] as T, a[m] as T) < 0) m = l;
      if (r < a.length && this.compare(a[r] as T, a[m] as T) < 0) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m] as T, a[i] as T];
      i = m;
    }
    return top;
  }
}

/**
 * Averages of one sample per simulation step over several trailing windows. A step without data (NaN:
 * no container live and nothing waiting, so nothing to scrape) counts in no average, so an average covers
 * only the part of its window that had data — Knative's TimedFloat64Buckets rule ("if the first write
 * was less than the window length ago, an average is returned over the partial window").
 * E.g. windows 60 s and 6 s, 0.1 s steps: 20 inputs waiting for the first 3 s after a minute of nothing
 * average 20 over both windows, not 1 and 10.
 */
export class LoadWindows {
  private readonly ring: Float64Array;
  private readonly steps: number[];
  private readonly sums: number[];
  private readonly counts: number[];
  private pushed = 0;

  constructor(
    private readonly windowsMs: readonly number[],
    dtMs: number,
  ) {
    this.steps = windowsMs.map((w) => {
      if (w % dtMs !== 0 || w <= 0) throw new Error(`window ${w} ms is not a positive multiple of the step ${dtMs} ms`);
      return w / dtMs;
    });
    this.ring = new Float64Array(Math.max(...this.steps)).fill(NaN);
    this.sums = this.steps.map(() => 0);
    this.counts = this.steps.map(() => 0);
  }

  /** The sample of the step just simulated; NaN when there was no data. */
  push(value: number): void {
    const size = this.ring.length;
    for (let k = 0; k < this.steps.length; k++) {
      const leaving = this.pushed - (this.steps[k] as number);
      if (leaving < 0) continue;
      const x = this.ring[leaving % size] as number;
      if (Number.isNaN(x)) continue;
      (this.sums[k] as number) -= x;
      (this.counts[k] as number)--;
    }
    this.ring[this.pushed % size] = value;
    this.pushed++;
    if (Number.isNaN(value)) return;
    for (let k = 0; k < this.steps.length; k++) {
      (this.sums[k] as number) += value;
      (this.counts[k] as number)++;
    }
  }

  /** `steps` steps without data. */
  skip(steps: number): void {
    if (steps < this.ring.length) {
      for (let i = 0; i < steps; i++) this.push(NaN);
      return;
    }
    this.ring.fill(NaN);
    this.sums.fill(0);
    this.counts.fill(0);
    this.pushed += steps;
  }

  /** The average over window `windowMs` (one of those given at construction); 0 without data. */
  average(windowMs: number): number {
    const k = this.windowsMs.indexOf(windowMs);
    if (k < 0) throw new Error(`no window of ${windowMs} ms`);
    const count = this.counts[k] as number;
    return count === 0 ? 0 : (this.sums[k] as number) / count;
  }
}

/** The highest sample of the last `steps` steps (a monotonic deque: O(1) amortised per step). */
export class WindowMax {
  private readonly idx: number[] = [];
  private readonly val: number[] = [];
  private pushed = 0;

  constructor(private readonly steps: number) {}

  push(value: number): void {
    while (this.val.length > 0 && (this.val[this.val.length - 1] as number) <= value) {
      this.val.pop();
      this.idx.pop();
    }
    this.val.push(value);
    this.idx.push(this.pushed++);
    while ((this.idx[0] as number) <= this.pushed - 1 - this.steps) {
      this.idx.shift();
      this.val.shift();
    }
  }

  /** `steps` steps of 0. */
  skip(steps: number): void {
    if (steps >= this.steps) {
      this.idx.length = 0;
      this.val.length = 0;
      this.pushed += steps - 1;
      this.push(0);
      return;
    }
    for (let i = 0; i < steps; i++) this.push(0);
  }

  get max(): number {
    return this.val.length === 0 ? 0 : (this.val[0] as number);
  }
}
