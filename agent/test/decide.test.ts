/**
 * The autoscaler's pure decision: one labelled table, time-stepped scenarios, and properties checked
 * with fast-check (bounds, never stopping a busy or recently used container).
 */
import fc from "fast-check";
import { decide, type ContainerObservation, type Decision, type Observation, type ScaleConfig } from "../src/autoscaler/decide";
import { retryDelayMs } from "../src/config/function";

const base: ScaleConfig = { minContainers: 0, maxContainers: 10, bufferContainers: 0, targetInputs: 1, maxInputs: 1, batchSize: 1, scaledownWindowMs: 60_000, maxConcurrentStarts: 10 };
const NOW = 1_000_000;

function ready(id: string, inFlight: number, idleFor: number | null): ContainerObservation {
  return { id, state: "ready", inFlight, idleSince: idleFor === null ? null : NOW - idleFor };
}

function expectDecision(d: Decision, want: Partial<Decision>): void {
  const got: Partial<Decision> = {};
  for (const k of Object.keys(want) as Array<keyof Decision>) (got as Record<string, unknown>)[k] = d[k];
  expect(got).toEqual(want);
}

describe("decide", () => {
  const table: Array<[string, Partial<ScaleConfig>, Observation, Partial<Decision>]> = [
    ["idle at zero stays at zero", {}, { queued: 0, inFlight: 0, containers: [] }, { desired: 0, start: 0, stop: [] }],
    ["first input scales from zero", {}, { queued: 1, inFlight: 0, containers: [] }, { desired: 1, start: 1 }],
    ["minContainers kept warm without inputs", { minContainers: 2 }, { queued: 0, inFlight: 0, containers: [] }, { desired: 2, start: 2 }],
    ["burst clamped to maxContainers", { maxContainers: 4 }, { queued: 100, inFlight: 0, containers: [] }, { desired: 4, start: 4 }],
    ["targetInputs divides the load", { targetInputs: 4, maxInputs: 4 }, { queued: 10, inFlight: 3, containers: [] }, { desired: 4, start: 4 }],
    ["buffer added while active", { targetInputs: 4, maxInputs: 4, bufferContainers: 1, maxContainers: 5 }, { queued: 10, inFlight: 3, containers: [] }, { desired: 5, start: 5 }],
    ["no buffer while idle", { bufferContainers: 2 }, { queued: 0, inFlight: 0, containers: [] }, { desired: 0, start: 0 }],
    ["batching multiplies capacity", { batchSize: 8 }, { queued: 20, inFlight: 0, containers: [] }, { desired: 3, start: 3 }],
    ["starting containers count", {}, { queued: 2, inFlight: 0, containers: [{ id: "a", state: "starting", inFlight: 0, idleSince: null }] }, { desired: 2, start: 1 }],
    ["idle past the window is stopped", {}, { queued: 0, inFlight: 0, containers: [ready("a", 0, 60_000)] }, { desired: 0, start: 0, stop: ["a"] }],
    ["idle within the window is held", {}, { queued: 0, inFlight: 0, containers: [ready("a", 0, 59_999)] }, { desired: 0, start: 0, stop: [] }],
    [
      "busy containers are never stopped",
      { maxContainers: 1 },
      { queued: 0, inFlight: 2, containers: [ready("a", 1, null), ready("b", 1, null), ready("c", 0, 120_000)] },
      { desired: 1, stop: ["c"] },
    ],
    ["longest idle first, only the surplus", {}, { queued: 0, inFlight: 1, containers: [ready("a", 1, null), ready("b", 0, 70_000), ready("c", 0, 90_000)] }, { desired: 1, stop: ["c", "b"] }],
    ["minContainers floor on scale-down", { minContainers: 1 }, { queued: 0, inFlight: 0, containers: [ready("a", 0, 90_000), ready("b", 0, 80_000)] }, { desired: 1, stop: ["a"] }],
    [
      "a start back-off holds the starts, desired still says what is wanted",
      {},
      { queued: 3, inFlight: 0, containers: [], startBackoff: { until: NOW + 1, failures: 1 } },
      { desired: 3, start: 0, stop: [] },
    ],
    ["a back-off that has passed holds nothing", {}, { queued: 3, inFlight: 0, containers: [], startBackoff: { until: NOW, failures: 2 } }, { desired: 3, start: 3 }],
    ["a back-off never holds a scale-down", {}, { queued: 0, inFlight: 0, containers: [ready("a", 0, 60_000)], startBackoff: { until: NOW + 30_000, failures: 5 } }, { desired: 0, stop: ["a"] }],
  ];
  test.each(table)("%s", (_label, config, obs, want) => {
    expectDecision(decide({ ...base, ...config }, obs, NOW), want);
  });

  test("the reason states the numbers", () => {
    const d = decide({ ...base, targetInputs: 4, maxInputs: 4, bufferContainers: 1, maxContainers: 5 }, { queued: 10, inFlight: 3, containers: [] }, NOW);
    expect(d.reason).toBe("scale up 0 → 5: 3 in flight + 10 queued, ceil(13 / 4) + buffer 1 = 5; gate: cold start ?, service ?, 0.0 arrivals/s; backlog at ready 13, 0 ready + 0 warming → need 4");
    const down = decide(base, { queued: 0, inFlight: 0, containers: [ready("a", 0, 60_000)] }, NOW);
    expect(down.reason).toContain("stopping a idle ≥ 60s");
    const held = decide(base, { queued: 2, inFlight: 0, containers: [], startBackoff: { until: NOW + 4000, failures: 3 } }, NOW);
    expect(held.reason).toBe(
      "scale up 0 → 2: 0 in flight + 2 queued, ceil(2 / 1) = 2; gate: cold start ?, service ?, 0.0 arrivals/s; backlog at ready 2, 0 ready + 0 warming → need 2; start held back 4000ms after 3 failed start(s)",
    );
    expect(held.held).toBe("start held back 4000ms after 3 failed start(s)");
    // Containers that crashed soon after they were ready hold starts back the same way (pool.ts CRASH_LOOP_WINDOW_MS).
    const crashed = decide(base, { queued: 2, inFlight: 0, containers: [], startBackoff: { until: NOW + 2000, failures: 0, crashes: 2 } }, NOW);
    expect([crashed.start, crashed.held]).toEqual([0, "start held back 2000ms after 2 crash(es) soon after ready"]);
    expect(decide(base, { queued: 2, inFlight: 0, containers: [] }, NOW).held).toBeUndefined();
  });

  test("scenario: burst, drain, then scale down only after the window", () => {
    let now = NOW;
    const config = { ...base, maxContainers: 3 };
    expect(decide(config, { queued: 5, inFlight: 0, containers: [] }, now).start).toBe(3);
    const busy = ["a", "b", "c"].map((id) => ({ id, state: "ready" as const, inFlight: 1, idleSince: null }));
    expect(decide(config, { queued: 2, inFlight: 3, containers: busy }, now).stop).toEqual([]);
    now += 1000;
    const idle = busy.map((c) => ({ ...c, inFlight: 0, idleSince: now }));
    now += 59_000;
    expect(decide(config, { queued: 0, inFlight: 0, containers: idle }, now).stop).toEqual([]);
    now += 1000;
    expect(decide(config, { queued: 0, inFlight: 0, containers: idle }, now).stop).toEqual(["a", "b", "c"]);
  });

  test("properties: bounds hold and busy or recently used containers are never stopped", () => {
    const container = fc.record({
      state: fc.constantFrom("starting" as const, "ready" as const),
      inFlight: fc.integer({ min: 0, max: 5 }),
      idleFor: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.record({
          minContainers: fc.integer({ min: 0, max: 5 }),
          extra: fc.integer({ min: 1, max: 10 }),
          bufferContainers: fc.integer({ min: 0, max: 3 }),
          targetInputs: fc.integer({ min: 1, max: 8 }),
          burst: fc.integer({ min: 0, max: 4 }),
          maxConcurrentStarts: fc.integer({ min: 1, max: 12 }),
          batchSize: fc.integer({ min: 1, max: 4 }),
          scaledownWindowMs: fc.integer({ min: 2000, max: 120_000 }),
        }),
        fc.integer({ min: 0, max: 500 }),
        fc.array(container, { maxLength: 12 }),
        (c, queued, cs) => {
          const { burst, extra, ...rest } = c;
          const config: ScaleConfig = { ...rest, maxInputs: c.targetInputs + burst, maxContainers: Math.max(1, c.minContainers + extra) };
          const containers = cs.map((x, i) => ({
            id: `c${i}`,
            state: x.state,
            inFlight: x.state === "starting" ? 0 : x.inFlight,
            idleSince: x.state === "ready" && x.inFlight === 0 && x.idleFor !== null ? NOW - x.idleFor : null,
          }));
          const inFlight = containers.reduce((s, x) => s + x.inFlight, 0);
          const d = decide(config, { queued, inFlight, containers }, NOW);
          expect(d.desired).toBeGreaterThanOrEqual(config.minContainers);
          expect(d.desired).toBeLessThanOrEqual(config.maxContainers);
          expect(containers.length + d.start).toBeLessThanOrEqual(Math.max(config.maxContainers, containers.length));
          expect(containers.filter((x) => x.state === "starting").length + d.start).toBeLessThanOrEqual(Math.max(config.maxConcurrentStarts, containers.filter((x) => x.state === "starting").length));
          for (const id of d.stop) {
            const x = containers.find((y) => y.id === id)!;
            expect(x.state).toBe("ready");
            expect(x.inFlight).toBe(0);
            expect(NOW - (x.idleSince as number)).toBeGreaterThanOrEqual(config.scaledownWindowMs);
          }
          expect(containers.length - d.stop.length).toBeGreaterThanOrEqual(Math.min(d.desired, containers.length));
        },
      ),
    );
  });
});

describe("retryDelayMs (Modal's backoff)", () => {
  test("initialDelay × backoffCoefficient^(n−1), capped at maxDelay", () => {
    const policy = { maxRetries: 5, initialDelayMs: 1000, backoffCoefficient: 2, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retryDelayMs({ ...policy, backoffCoefficient: 1 }, 4)).toBe(1000);
    expect(retryDelayMs({ ...policy, initialDelayMs: 0 }, 3)).toBe(0);
  });
});
