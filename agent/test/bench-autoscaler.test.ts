/**
 * The autoscaler benchmark (`npm run bench:autoscaler`, agent/bench/autoscaler) on a tiny trace: the
 * `--json OUT` shape, invariants every policy's run must keep, the figures that can be worked out by
 * hand, and the trace reader on awkward input.
 */
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { simulate, type RunResult, type Workload } from "../bench/autoscaler/engine";
import { main } from "../bench/autoscaler/main";
import { POLICIES } from "../bench/autoscaler/policies";
import { BURST, burstWorkload, functionConfig, simParams } from "../bench/autoscaler/scenarios";
import { parseTimestamp, readTrace } from "../bench/autoscaler/trace";
import { tempDir } from "./helpers";

const FIELDS = ["policy", "containerSeconds", "idealSeconds", "starts", "peakConcurrentStarts", "waitP50", "waitP90", "waitP99", "waitMax"];

/** 240 requests over 10 minutes: quiet, a busy minute, quiet again; one row out of order, one unreadable. */
function tinyTrace(dir: string): string {
  const rows = ["TIMESTAMP,ContextTokens,GeneratedTokens"];
  for (let i = 0; i < 240; i++) {
    const s = i < 60 ? i * 3 : i < 200 ? 180 + (i - 60) * 0.4 : 240 + (i - 200) * 9;
    const base = Date.UTC(2023, 10, 16, 18, 0, 0) + s * 1000;
    const stamp = new Date(base).toISOString().replace("T", " ").replace("Z", "0000");
    rows.push(`${stamp},${(i * 37) % 2000},${(i * 13) % 300}`);
  }
  [rows[10], rows[11]] = [rows[11] as string, rows[10] as string];
  rows.splice(5, 0, "2023-11-16 nonsense,1,1");
  const file = path.join(dir, "tiny.csv");
  fs.writeFileSync(file, `${rows.join("\r\n")}\r\n`);
  return file;
}

function checkRun(r: RunResult): void {
  expect(r.truncated).toBe(false);
  expect(r.idealSeconds).toBeLessThanOrEqual(r.containerSeconds);
  expect(r.starts).toBeGreaterThanOrEqual(r.peakConcurrentStarts);
  expect(r.peakContainers).toBeGreaterThanOrEqual(r.peakConcurrentStarts);
  expect(r.waitP50).toBeGreaterThanOrEqual(0);
  expect(r.waitP50).toBeLessThanOrEqual(r.waitP90);
  expect(r.waitP90).toBeLessThanOrEqual(r.waitP99);
  expect(r.waitP99).toBeLessThanOrEqual(r.waitMax);
}

describe("bench:autoscaler", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("bench-autoscaler");
  });

  test("a tiny trace: --json has the issue's shape per policy, every run keeps the invariants", async () => {
    const out = path.join(dir, "figures.json");
    const all = path.join(dir, "all.json");
    await main(["--trace", tinyTrace(dir), "--json", out, "--out", all, "--only", "trace,burst,failure", "--seeds", "2", "--quiet"]);

    const figures = JSON.parse(fs.readFileSync(out, "utf8")) as Array<Record<string, unknown>>;
    expect(figures.map((f) => f.policy)).toEqual(POLICIES.map((p) => p.name));
    for (const f of figures) {
      expect(Object.keys(f)).toEqual(FIELDS);
      for (const k of FIELDS.slice(1)) expect(typeof f[k]).toBe("number");
    }

    const results = JSON.parse(fs.readFileSync(all, "utf8"));
    const trace = results.scenarios.trace;
    expect(trace.calls).toBe(240);
    expect(trace.skippedRows).toBe(1);
    for (const r of trace.results as RunResult[]) checkRun(r);
    const burst = results.scenarios.burst.results as RunResult[];
    for (const r of burst) {
      checkRun(r);
      expect(r.coldArrivals).toBe(BURST.bursts * BURST.calls); // every burst from zero
    }
    // Modal starts every missing container at once: ceil(20 / 6) = 4, once per burst.
    const modal = burst.find((r) => r.policy === "modal") as RunResult;
    expect(modal.peakConcurrentStarts).toBe(Math.ceil(BURST.calls / 6));
    expect(modal.starts).toBe(Math.ceil(BURST.calls / 6) * BURST.bursts);
    // Without guards there is no idempotency: 3 client retries × (1 + 3 retries) = 16 attempts when every attempt fails.
    for (const r of results.scenarios["failure-all"].results) {
      if (r.guarded) continue;
      expect(r.attemptsPerLogicalMean.median).toBe(16);
      expect(r.attemptsPerFirstAttempt.median).toBe(4);
    }
    for (const r of results.scenarios.failure.results) expect(r.attemptsPerLogicalMax.max).toBeLessThanOrEqual(16);
    // With them (warmpool-after): the function's retries are the one retry layer, within the budget, and
    // nothing starts while the breaker is open.
    for (const key of ["failure", "failure-all"]) {
      const after = results.scenarios[key].results.find((r: { policy: string }) => r.policy === "warmpool-after");
      expect(after.attemptsPerLogicalMax.max).toBeLessThanOrEqual(4);
      expect(after.clientCallsPerLogical.max).toBe(1);
      expect(after.startsWhileOpen.max).toBe(0);
    }
  }, 60_000);

  test("one call from zero under warmpool-before: 20 s cold start, 1 s service, stopped on the first tick 60 s idle", () => {
    const work: Workload = { name: "one", arrivalMs: Float64Array.of(0), serviceMs: Float64Array.of(1000), failureRate: 0, seed: 0, clientRetries: 0, clientRetryDelayMs: 0 };
    const r = simulate(POLICIES[0] as (typeof POLICIES)[number], functionConfig(), work, simParams());
    expect(r).toMatchObject({ policy: "warmpool-before", containerSeconds: 81, idealSeconds: 0.125, starts: 1, peakConcurrentStarts: 1, waitP50: 20, waitMax: 20 });
  });

  test("warmpool-after on random calls: every call succeeds, the invariants hold, and it never starts more at once than maxConcurrentStarts", () => {
    const config = functionConfig();
    const after = POLICIES.find((p) => p.name === "warmpool-after")!;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 100, max: 8000 })), { minLength: 1, maxLength: 60 }), (calls) => {
        calls.sort((a, b) => a[0] - b[0]);
        const work: Workload = {
          name: "random",
          arrivalMs: Float64Array.from(calls.map((c) => c[0])),
          serviceMs: Float64Array.from(calls.map((c) => c[1])),
          failureRate: 0,
          seed: 0,
          clientRetries: 0,
          clientRetryDelayMs: 0,
        };
        const r = simulate(after, config, work, simParams());
        checkRun(r);
        expect(r.calls.succeeded).toBe(calls.length);
        expect(r.peakConcurrentStarts).toBeLessThanOrEqual(config.scale.maxConcurrentStarts);
      }),
      { numRuns: 40 },
    );
  });

  test("the burst at the real-agent cross-check's scale is the full-size burst scaled", () => {
    const full = simulate(POLICIES[0] as (typeof POLICIES)[number], functionConfig(), burstWorkload(), simParams());
    const small = simulate(POLICIES[0] as (typeof POLICIES)[number], functionConfig({ scaledownWindowS: 6 }), burstWorkload(0.1), simParams(0.1));
    expect(small.starts).toBe(full.starts);
    expect(small.waitP99).toBeCloseTo(full.waitP99 / 10, 6);
  });

  test("trace timestamps: the Azure format, ISO with an offset, plain seconds; rows sorted; header columns in any order", async () => {
    expect(parseTimestamp("2023-11-16 18:15:46.6805900")).toBeCloseTo(Date.UTC(2023, 10, 16, 18, 15, 46) + 680.59, 6);
    expect(parseTimestamp("2023-11-16T19:15:46+01:00")).toBe(Date.UTC(2023, 10, 16, 18, 15, 46));
    expect(parseTimestamp("12.5")).toBe(12_500);
    expect(parseTimestamp("yesterday")).toBeNaN();
    const file = path.join(dir, "shuffled.csv");
    fs.writeFileSync(file, "GeneratedTokens,timestamp,ContextTokens,extra\n5,2023-11-16 18:00:02,10,x\n\n7,2023-11-16 18:00:00.5,20,y\n9,2023-11-16 18:00:01,,z\n");
    const t = await readTrace(file);
    expect(Array.from(t.arrivalMs)).toEqual([0, 1500]);
    expect(Array.from(t.contextTokens)).toEqual([20, 10]);
    expect(Array.from(t.generatedTokens)).toEqual([7, 5]);
    expect(t.skipped).toBe(1);
    fs.writeFileSync(file, "when,ContextTokens,GeneratedTokens\n");
    await expect(readTrace(file)).rejects.toThrow(/must name TIMESTAMP/);
  });
});
