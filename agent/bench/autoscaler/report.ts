/**
 * The benchmark's tables on stdout: one row per policy, ratios against the baseline policy of the same
 * run, spreads over seeds where a scenario is random.
 */
import type { RunResult } from "./engine";
import type { Spread } from "./stats";

/** The per-policy object of `--json OUT`, exactly the shape (seconds). */
export interface PolicyFigures {
  policy: string;
  containerSeconds: number;
  idealSeconds: number;
  starts: number;
  peakConcurrentStarts: number;
  waitP50: number;
  waitP90: number;
  waitP99: number;
  waitMax: number;
}

export function figures(r: RunResult): PolicyFigures {
  return {
    policy: r.policy,
    containerSeconds: round(r.containerSeconds, 3),
    idealSeconds: round(r.idealSeconds, 3),
    starts: r.starts,
    peakConcurrentStarts: r.peakConcurrentStarts,
    waitP50: round(r.waitP50, 3),
    waitP90: round(r.waitP90, 3),
    waitP99: round(r.waitP99, 3),
    waitMax: round(r.waitMax, 3),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function num(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ratio(x: number, base: number | undefined): string {
  if (base === undefined || base === 0) return "";
  return `×${(x / base).toFixed(2)}`;
}

/** `median (min – max)`, or just the value when every run gave the same. */
export function spreadText(s: Spread, digits = 0): string {
  if (s.min === s.max) return num(s.median, digits);
  return `${num(s.median, digits)} (${num(s.min, digits)} – ${num(s.max, digits)})`;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The trace's and the burst's table: one deterministic run per policy. */
export function runTable(results: readonly RunResult[], baseline: string): string {
  const base = results.find((r) => r.policy === baseline);
  return table(
    ["policy", "container-s", "÷ ideal", "vs before", "starts", "peak starts", "peak live", "wait p50", "p90", "p99", "max"],
    results.map((r) => [
      r.policy,
      num(r.containerSeconds, 1),
      (r.containerSeconds / r.idealSeconds).toFixed(2),
      ratio(r.containerSeconds, base?.containerSeconds),
      String(r.starts),
      String(r.peakConcurrentStarts),
      String(r.peakContainers),
      `${r.waitP50.toFixed(2)} s`,
      `${r.waitP90.toFixed(2)} s`,
      `${r.waitP99.toFixed(2)} s`,
      `${r.waitMax.toFixed(2)} s`,
    ]),
  );
}

/** What the failure scenarios report per policy, each a spread over the seeds. */
export interface FailureSummary {
  policy: string;
  /** Whether the policy has guards (a breaker can be open); without, "starts while open" is moot. */
  guarded: boolean;
  attemptsPerLogicalMean: Spread;
  attemptsPerLogicalMax: Spread;
  attemptsPerFirstAttempt: Spread;
  clientCallsPerLogical: Spread;
  logicalFailedShare: Spread;
  starts: Spread;
  peakConcurrentStarts: Spread;
  peakContainers: Spread;
  containerSeconds: Spread;
  idealSeconds: Spread;
  waitP99: Spread;
  startsWhileOpen: Spread;
}

export function failureTable(rows: readonly FailureSummary[], baseline: string): string {
  const base = rows.find((r) => r.policy === baseline);
  return table(
    [
      "policy",
      "attempts/call (mean)",
      "max",
      "attempts/first",
      "client calls/call",
      "calls failed",
      "starts",
      "peak starts",
      "peak live",
      "container-s",
      "vs before",
      "wait p99 (s)",
      "starts, breaker open",
    ],
    rows.map((r) => [
      r.policy,
      spreadText(r.attemptsPerLogicalMean, 2),
      spreadText(r.attemptsPerLogicalMax),
      spreadText(r.attemptsPerFirstAttempt, 2),
      spreadText(r.clientCallsPerLogical, 2),
      `${spreadText({ ...r.logicalFailedShare, median: r.logicalFailedShare.median * 100, min: r.logicalFailedShare.min * 100, max: r.logicalFailedShare.max * 100 }, 1)} %`,
      spreadText(r.starts),
      spreadText(r.peakConcurrentStarts),
      spreadText(r.peakContainers),
      spreadText(r.containerSeconds, 0),
      ratio(r.containerSeconds.median, base?.containerSeconds.median),
      spreadText(r.waitP99, 2),
      r.guarded ? spreadText(r.startsWhileOpen) : "no breaker",
    ]),
  );
}
