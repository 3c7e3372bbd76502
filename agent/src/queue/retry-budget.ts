/**
 * A function's retry budget: a token bucket in the manner of gRPC's retry throttling and Envoy's retry
 * budget, so that retries add at most a bounded fraction of the first attempts. Each first attempt
 * earns `ratio` of a token (default 0.1), a retry spends one, and the bucket holds at most `maxTokens`
 * (default 10: a burst of failures after a quiet spell still gets 10 retries). It starts with
 * `initialTokens` (default 1, so a fresh function's first failure is still retried once).
 *
 * E.g. 600 first attempts, half of them failing, on `retries: 3`: without a budget 1.87 attempts per
 * first attempt; with it at most 1 + 0.1 × 600 = 61 retries, 1.10 attempts per first attempt. Beyond
 * it an input fails with its last error and the reason "retry budget exhausted". Pure: no clock.
 */

export interface RetryBudgetOptions {
  /** Tokens a first attempt earns. @default 0.1 */
  ratio?: number;
  /** @default 10 */
  maxTokens?: number;
  /** @default 1 */
  initialTokens?: number;
}

export const RETRY_BUDGET_DEFAULTS: Required<RetryBudgetOptions> = { ratio: 0.1, maxTokens: 10, initialTokens: 1 };

export const RETRY_BUDGET_EXHAUSTED = "retry budget exhausted";

export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly maxTokens: number;

  constructor(options: RetryBudgetOptions = {}) {
    const o = { ...RETRY_BUDGET_DEFAULTS, ...options };
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
