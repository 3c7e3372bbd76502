/**
 * A function's retry budget, in the manner of Envoy's retry budget (a share of the requests, with a
 * floor) over a sliding window: within the last `windowMs`, retries may number at most
 * max(`minRetries`, `ratio` × the first attempts made). Beyond it an input with declared retries left
 * fails with its last error and the reason "retry budget exhausted".
 *
 * Why this shape, with the defaults (ratio 0.1, floor 3, 60 s):
 * - A function failing at scale is held to one retry per 10 first attempts, and no more: 600 first
 *   attempts in 5 minutes, half of them failing, on `retries: 3`: 1.87 attempts per first attempt
 *   without a budget, 1.09 with it (bench:autoscaler's failure scenario). A bucket that starts full
 *   (gRPC's retry throttling, tried first) adds its 10 tokens on top of the share: 1.12 there.
 * - A quiet function keeps its declared retries: the floor gives any function 3 retries a minute
 *   (`retries: 3` on one failing call: all 4 attempts), where a bucket, once spent, waits for 10 first
 *   attempts per retry.
 * The window is 12 slots of 5 s, so memory is constant and a slot's counts leave the window together.
 * Pure: the caller passes the time.
 */

export interface RetryBudgetOptions {
  /** Retries allowed per first attempt in the window. @default 0.1 */
  ratio?: number;
  /** Retries allowed in any window, however few first attempts. @default 3 */
  minRetries?: number;
  /** @default 60000 */
  windowMs?: number;
}

export const RETRY_BUDGET_DEFAULTS = { ratio: 0.1, minRetries: 3, windowMs: 60_000 } as const;

export const RETRY_BUDGET_EXHAUSTED = "retry budget exhausted";

const SLOTS = 12;

export class RetryBudget {
  private readonly ratio: number;
  private readonly minRetries: number;
  private readonly slotMs: number;
  private readonly firsts = new Array<number>(SLOTS).fill(0);
  private readonly retries = new Array<number>(SLOTS).fill(0);
  /** The slot index (time / slotMs) the arrays' current entries belong to. */
  private slot = -Infinity;

  constructor(options: RetryBudgetOptions = {}) {
    const o = { ...RETRY_BUDGET_DEFAULTS, ...options };
    if (!(o.ratio >= 0) || !(o.minRetries >= 0) || !(o.windowMs >= SLOTS)) {
      throw new Error(`retry budget: ratio ${o.ratio} must be ≥ 0, minRetries ${o.minRetries} ≥ 0, windowMs ${o.windowMs} ≥ ${SLOTS}`);
    }
    this.ratio = o.ratio;
    this.minRetries = o.minRetries;
    this.slotMs = o.windowMs / SLOTS;
  }

  /** Retries allowed now (≥ 0). */
  available(now: number): number {
    this.advance(now);
    const firsts = sum(this.firsts);
    // 1e-9: ten first attempts × 0.1 is 0.9999999999999999 in floating point.
    return Math.max(0, Math.floor(Math.max(this.minRetries, this.ratio * firsts) + 1e-9) - sum(this.retries));
  }

  firstAttempt(now: number): void {
    this.advance(now);
    this.firsts[at(this.slot)]++;
  }

  /** Counts a retry when the window allows one; false when it does not (the input fails instead). */
  tryRetry(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.retries[at(this.slot)]++;
    return true;
  }

  /** Empties the slots that left the window since the last call. */
  private advance(now: number): void {
    const slot = Math.floor(now / this.slotMs);
    if (slot <= this.slot) return;
    const passed = Math.min(SLOTS, slot - this.slot);
    for (let i = 1; i <= passed; i++) {
      const k = at(slot - passed + i);
      this.firsts[k] = 0;
      this.retries[k] = 0;
    }
    this.slot = slot;
  }
}

/** The array index of a slot (slots before time 0 included). */
function at(slot: number): number {
  return ((slot % SLOTS) + SLOTS) % SLOTS;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
