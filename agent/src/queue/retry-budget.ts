/**
 * A function's retry budget: a token bucket in the manner of gRPC's retry throttling (maxTokens 10,
 * tokenRatio 0.1) and Envoy's retry budget, so that retries add at most a bounded fraction of the first
 * attempts. Each first attempt earns `ratio` of a token (default 0.1), a retry spends one, and the
 * bucket holds at most `maxTokens` (default 10), which it starts with: a function whose calls fail now
 * and then keeps every retry it declares (up to 10 in a row), and only a function failing at scale is
 * held to one retry per 10 first attempts.
 *
 * E.g. 600 first attempts in 5 minutes, half of them failing, on `retries: 3`: without a budget 1.87
 * attempts per first attempt; with it at most 10 + 0.1 × 600 = 70 retries, 1.12 attempts per first
 * attempt (1.10 in the long run). Beyond it an input fails with its last error and the reason "retry
 * budget exhausted". Pure: no clock.
 */

export interface RetryBudgetOptions {
  /** Tokens a first attempt earns. @default 0.1 */
  ratio?: number;
  /** @default 10 */
  maxTokens?: number;
  /** @default maxTokens */
  initialTokens?: number;
}

export const RETRY_BUDGET_DEFAULTS = { ratio: 0.1, maxTokens: 10 } as const;

export const RETRY_BUDGET_EXHAUSTED = "retry budget exhausted";

export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly maxTokens: number;

  constructor(options: RetryBudgetOptions = {}) {
    const maxTokens = options.maxTokens ?? RETRY_BUDGET_DEFAULTS.maxTokens;
    const o = { ratio: options.ratio ?? RETRY_BUDGET_DEFAULTS.ratio, maxTokens, initialTokens: options.initialTokens ?? maxTokens };
    if (!(o.ratio >= 0) || !(o.maxTokens >= 1) || !(o.initialTokens >= 0 && o.initialTokens <= o.maxTokens)) {
      throw new Error(`retry budget: ratio ${o.ratio} must be ≥ 0, maxTokens ${o.maxTokens} ≥ 1, initialTokens ${o.initialTokens} within [0, maxTokens]`);
    }
    this.ratio = o.ratio;
    this.maxTokens = o.maxTokens;
    this.tokens = o.initialTokens;
  }

  /** Tokens left (a retry needs 1). */
  get available(): number {
    return this.tokens;
  }

  firstAttempt(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.ratio);
  }

  /** Spends a token for a retry; false when there is none (the input fails instead). */
  tryRetry(): boolean {
    // 1e-9: ten earnings of 0.1 sum to 0.9999999999999999 in floating point.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }
}
