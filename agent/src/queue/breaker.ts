/**
 * A function's circuit breaker. It looks at the outcomes of the last `window` attempts (default 20)
 * that ended within `maxAgeMs` (default 60 s), and opens when at least `minSample` (default 20) of them
 * are there and a share `threshold` (default 0.8) or more failed. Open, it refuses new calls (the
 * gateway answers 503 with Retry-After, WP_ERR_FUNCTION_FAILING) and the autoscaler starts nothing for
 * the function's demand; after `openMs` (default 10 s) it is half-open: one call is let through as a
 * probe, and the first attempt to end then closes it (success, with the window cleared) or opens it
 * again for another `openMs`.
 *
 * Why 80 % of 20: at a steady 50 % failure rate (a flaky dependency, the retries still help) 16 or more
 * failures in 20 happen with probability 0.6 %, so the breaker stays closed; a broken deploy (every
 * attempt fails) opens it after 20 attempts. Pure: every method takes `now`.
 */

export interface BreakerOptions {
  /** @default 20 */
  window?: number;
  /** @default 20 */
  minSample?: number;
  /** @default 0.8 */
  threshold?: number;
  /** @default 60_000 */
  maxAgeMs?: number;
  /** @default 10_000 */
  openMs?: number;
}

export const BREAKER_DEFAULTS: Required<BreakerOptions> = { window: 20, minSample: 20, threshold: 0.8, maxAgeMs: 60_000, openMs: 10_000 };

export type BreakerState = "closed" | "open" | "half-open";

export class Breaker {
  private readonly o: Required<BreakerOptions>;
  /** Ended attempts, oldest first: [when, ok]. */
  private readonly recent: Array<[number, boolean]> = [];
  private openedAt: number | null = null;
  /** When the half-open probe was let through; another goes after openMs if its attempt never ends (cancelled). */
  private probeAt: number | null = null;
  /** Times it opened, for status. */
  opened = 0;

  constructor(options: BreakerOptions = {}) {
    this.o = { ...BREAKER_DEFAULTS, ...options };
    const o = this.o;
    if (!(o.window >= 1 && o.minSample >= 1 && o.minSample <= o.window && o.threshold > 0 && o.threshold <= 1 && o.openMs > 0 && o.maxAgeMs > 0)) {
      throw new Error(`breaker: window ${o.window} ≥ 1, minSample ${o.minSample} within [1, window], threshold ${o.threshold} within (0, 1], openMs ${o.openMs} and maxAgeMs ${o.maxAgeMs} > 0`);
    }
  }

  state(now: number): BreakerState {
    if (this.openedAt === null) return "closed";
    return now - this.openedAt < this.o.openMs ? "open" : "half-open";
  }

  /** Seconds until it lets a probe through (for Retry-After); 0 when it is not open. */
  retryAfterS(now: number): number {
    if (this.openedAt === null) return 0;
    return Math.max(1, Math.ceil((this.openedAt + this.o.openMs - now) / 1000));
  }

  /** May a new call run now? Half-open lets exactly one through until an attempt ends. */
  admit(now: number): boolean {
    const s = this.state(now);
    if (s === "closed") return true;
    if (s === "open" || (this.probeAt !== null && now - this.probeAt < this.o.openMs)) return false;
    this.probeAt = now;
    return true;
  }

  /** An attempt ended. */
  record(now: number, ok: boolean): void {
    if (this.openedAt !== null) {
      if (this.state(now) === "open") return;
      // Half-open: the first attempt to end decides.
      this.probeAt = null;
      if (ok) {
        this.openedAt = null;
        this.recent.length = 0;
      } else this.openedAt = now;
      return;
    }
    this.recent.push([now, ok]);
    while (this.recent.length > this.o.window || (this.recent.length > 0 && now - (this.recent[0] as [number, boolean])[0] > this.o.maxAgeMs)) this.recent.shift();
    if (this.recent.length < this.o.minSample) return;
    let failed = 0;
    for (const [, good] of this.recent) if (!good) failed++;
    if (failed / this.recent.length >= this.o.threshold) {
      this.openedAt = now;
      this.opened++;
      this.recent.length = 0;
    }
  }

  /** Failures among the attempts it counts now, for status: "12/20". */
  describe(now: number): string {
    let failed = 0;
    for (const [, good] of this.recent) if (!good) failed++;
    return `${this.state(now)}, ${failed}/${this.recent.length} of the last attempts failed (opens at ${Math.round(this.o.threshold * 100)}% of ≥ ${this.o.minSample})`;
  }
}
