/**
 * Issue 15's guards in the pure decider: the cold-start gate (estimates in the observation),
 * maxConcurrentStarts, the breaker, load-following scale-down; and the Estimator that measures the
 * estimates from counters, stepped on a manual clock. One labelled table, then time-stepped scenarios.
 */
import fc from "fast-check";
import { decide, type ContainerObservation, type Decision, type Estimates, type Observation, type ScaleConfig } from "../src/autoscaler/decide";
import { Estimator } from "../src/autoscaler/estimates";
import { ManualClock } from "../src/clock";

/** The benchmark's function: maxInputs 8, targetInputs 6, scaledownWindow 60 s, at most 4 starting. */
const base: ScaleConfig = { minContainers: 0, maxContainers: 100, bufferContainers: 0, targetInputs: 6, maxInputs: 8, batchSize: 1, scaledownWindowMs: 60_000, maxConcurrentStarts: 4 };
const NOW = 1_000_000;
/** Measured: 20 s cold start, 3 s per input, nothing arriving, average and peak unknown. */
const measured: Estimates = { coldStartMs: 20_000, serviceMs: 3000, arrivalsPerSec: 0, inFlightAverage: null, peakLoad: null };

function ready(id: string, inFlight: number, idleFor: number | null = null): ContainerObservation {
  return { id, state: "ready", inFlight, idleSince: idleFor === null ? null : NOW - idleFor };
}
function warming(id: string): ContainerObservation {
  return { id, state: "starting", inFlight: 0, idleSince: null };
}
function expectDecision(d: Decision, want: Partial<Decision>): void {
  const got: Partial<Decision> = {};
  for (const k of Object.keys(want) as Array<keyof Decision>) (got as Record<string, unknown>)[k] = d[k];
  expect(got).toEqual(want);
}

describe("decide: the cold-start gate, maxConcurrentStarts, the breaker, load-following", () => {
  const table: Array<[string, Partial<ScaleConfig>, Observation, Partial<Decision>]> = [
    // ceil(20 / 6) = 4 before; 20 inputs fit in ceil(20 / 8) = 3 containers that are all ready at once.
    ["a burst of 20 at zero starts what maxInputs holds, not what targetInputs asks", {}, { queued: 20, inFlight: 0, containers: [], estimates: measured }, { desired: 3, start: 3 }],
    ["nothing measured yet: the gate still counts maxInputs", {}, { queued: 20, inFlight: 0, containers: [] }, { desired: 3, start: 3 }],
    // 4 ready × 8 slots finish 4 × 8 × 20 / 3 ≈ 213 inputs before a new container could be ready.
    ["waiting for slots beats a cold start: no start", {}, { queued: 5, inFlight: 32, containers: ["a", "b", "c", "d"].map((id) => ready(id, 8)), estimates: measured }, { desired: 4, start: 0 }],
    [
      "a backlog the fleet cannot clear before a new container is ready starts the rest",
      {},
      { queued: 300, inFlight: 16, containers: [ready("a", 8), ready("b", 8)], estimates: measured },
      // 316 − 2 × 8 × (1 + 20 / 3) = 193.3 left at ready → ceil(193.3 / 8) = 25 more, at most 4 at once.
      { desired: 27, start: 4 },
    ],
    ["containers already warming absorb the backlog: no start", {}, { queued: 16, inFlight: 0, containers: [warming("a"), warming("b")], estimates: measured }, { desired: 2, start: 0 }],
    ["maxConcurrentStarts caps a burst at zero", { maxConcurrentStarts: 2 }, { queued: 100, inFlight: 0, containers: [], estimates: measured }, { desired: 13, start: 2 }],
    ["maxConcurrentStarts counts the ones already starting", { maxConcurrentStarts: 2 }, { queued: 100, inFlight: 0, containers: [warming("a")], estimates: measured }, { desired: 13, start: 1 }],
    // 6 arrivals/s × 3 s = 18 in flight in steady state → ceil(18 / 6) = 3, though nothing waits behind them.
    // The ceiling says ceil(38 / 6) = 7; the backlog clears on the one ready container (38 < 8 × (1 + 20 / 3)).
    ["the arrival rate asks for the steady-state fleet", {}, { queued: 30, inFlight: 8, containers: [ready("a", 8)], estimates: { ...measured, arrivalsPerSec: 6 } }, { desired: 3, start: 2 }],
    ["in-flight load never gets fewer than it needs", {}, { queued: 1, inFlight: 24, containers: [ready("a", 8), ready("b", 8), ready("c", 8)], estimates: measured }, { desired: 3, start: 0 }],
    ["breaker open: no start for failing demand", {}, { queued: 40, inFlight: 0, containers: [ready("a", 0)], estimates: measured, breaker: "open" }, { start: 0, stop: [] }],
    ["breaker half-open with a container: the probe runs there, no start", {}, { queued: 20, inFlight: 0, containers: [ready("a", 0)], breaker: "half-open" }, { start: 0 }],
    ["breaker half-open at zero: one start, for the probe", {}, { queued: 20, inFlight: 0, containers: [], breaker: "half-open" }, { start: 1 }],
    [
      "load-following: an idle container beyond the window's average stops before scaledownWindow",
      {},
      { queued: 0, inFlight: 5, containers: [ready("a", 5), ready("b", 0, 1000)], estimates: { ...measured, inFlightAverage: 4, peakLoad: 7 } },
      { desired: 1, stop: ["b"] },
    ],
    [
      "load-following: the window's peak keeps a spike's containers while inputs run",
      {},
      { queued: 0, inFlight: 5, containers: [ready("a", 5), ready("b", 0, 1000)], estimates: { ...measured, inFlightAverage: 4, peakLoad: 16 } },
      { desired: 1, stop: [] },
    ],
    [
      "load-following: once nothing runs only the average holds (the last one stays for the window)",
      {},
      { queued: 0, inFlight: 0, containers: [ready("a", 0, 500), ready("b", 0, 1000), ready("c", 0, 2000)], estimates: { ...measured, inFlightAverage: 1, peakLoad: 20 } },
      { desired: 0, stop: ["c", "b"] },
    ],
    [
      "load-following: an average of 0 stops the last one",
      {},
      { queued: 0, inFlight: 0, containers: [ready("a", 0, 59_000)], estimates: { ...measured, inFlightAverage: 0, peakLoad: 0 } },
      { desired: 0, stop: ["a"] },
    ],
  ];
  test.each(table)("%s", (_label, config, obs, want) => {
    expectDecision(decide({ ...base, ...config }, obs, NOW), want);
  });

  test("the reason names the estimates and the gate", () => {
    const d = decide(base, { queued: 5, inFlight: 32, containers: ["a", "b", "c", "d"].map((id) => ready(id, 8)), estimates: { ...measured, arrivalsPerSec: 2.5 } }, NOW);
    expect(d.reason).toBe("scale up 4 → 4: 32 in flight + 5 queued, ceil(37 / 6) = 7; gate: cold start 20.0s, service 3.0s, 2.5 arrivals/s; backlog at ready 0, 4 ready + 0 warming → need 4");
    const open = decide(base, { queued: 40, inFlight: 0, containers: [], estimates: measured, breaker: "open" }, NOW);
    expect(open.reason).toMatch(/; breaker open: no start for failing demand$/);
    const capped = decide({ ...base, maxConcurrentStarts: 2 }, { queued: 100, inFlight: 0, containers: [], estimates: measured }, NOW);
    expect(capped.reason).toMatch(/; 0 starting, maxConcurrentStarts 2: start 2$/);
  });

  test("scenario: a burst at zero, the containers warm, serve, then stop with the window's average", () => {
    let now = NOW;
    const est = (avg: number | null, peak: number | null): Estimates => ({ ...measured, inFlightAverage: avg, peakLoad: peak });
    // t = 0: 20 calls, nothing live → 3 start.
    expect(decide(base, { queued: 20, inFlight: 0, containers: [], estimates: est(0, 20) }, now).start).toBe(3);
    // t = 1 s: the 3 are warming; the tick starts nothing more.
    const w = [warming("a"), warming("b"), warming("c")];
    expect(decide(base, { queued: 20, inFlight: 0, containers: w, estimates: est(0, 20) }, now + 1000).start).toBe(0);
    // t = 20 s: ready, 20 in flight (8 + 8 + 4); nothing stops while they run.
    now += 20_000;
    const busy = [ready("a", 8), ready("b", 8), ready("c", 4)];
    expect(decide(base, { queued: 0, inFlight: 20, containers: busy, estimates: est(0.5, 20) }, now)).toMatchObject({ start: 0, stop: [] });
    // t = 23 s: all idle; the average over 60 s is 1 (20 inputs × 3 s / 60 s) → keep 1, stop the 2 idle longest.
    now += 3000;
    const idle = [
      { ...ready("a", 0), idleSince: now },
      { ...ready("b", 0), idleSince: now },
      { ...ready("c", 0), idleSince: now - 100 },
    ];
    expect(decide(base, { queued: 0, inFlight: 0, containers: idle, estimates: est(1, 20) }, now).stop).toEqual(["c", "a"]);
    // t = 83 s: the window holds no load any more → the last one stops.
    now += 60_000;
    expect(decide(base, { queued: 0, inFlight: 0, containers: [idle[1]!], estimates: est(0, 0) }, now).stop).toEqual(["b"]);
  });

  test("properties: never over maxConcurrentStarts, never a start while the breaker is open, never a busy container stopped", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 400 }),
        fc.array(fc.record({ state: fc.constantFrom("starting" as const, "ready" as const), inFlight: fc.integer({ min: 0, max: 8 }), idleFor: fc.integer({ min: 0, max: 100_000 }) }), {
          maxLength: 12,
        }),
        fc.record({
          coldStartMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: null }),
          serviceMs: fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: null }),
          arrivalsPerSec: fc.double({ min: 0, max: 50, noNaN: true }),
          inFlightAverage: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
          peakLoad: fc.option(fc.integer({ min: 0, max: 400 }), { nil: null }),
        }),
        fc.constantFrom("closed" as const, "open" as const, "half-open" as const),
        fc.integer({ min: 1, max: 6 }),
        (queued, cs, estimates, breaker, maxConcurrentStarts) => {
          const containers = cs.map((x, i) => ({
            id: `c${i}`,
            state: x.state,
            inFlight: x.state === "starting" ? 0 : x.inFlight,
            idleSince: x.state === "ready" && x.inFlight === 0 ? NOW - x.idleFor : null,
          }));
          const inFlight = containers.reduce((s, x) => s + x.inFlight, 0);
          const config = { ...base, maxContainers: 20, maxConcurrentStarts };
          const d = decide(config, { queued, inFlight, containers, estimates, breaker }, NOW);
          const starting = containers.filter((x) => x.state === "starting").length;
          expect(d.start === 0 || starting + d.start <= maxConcurrentStarts).toBe(true);
          if (breaker === "open") expect(d.start).toBe(0);
          expect(containers.length + d.start).toBeLessThanOrEqual(Math.max(config.maxContainers, containers.length));
          for (const id of d.stop) expect(containers.find((y) => y.id === id)).toMatchObject({ state: "ready", inFlight: 0 });
          // In-flight load never loses the containers it needs.
          expect(containers.length - d.stop.length).toBeGreaterThanOrEqual(Math.min(containers.length, Math.ceil(inFlight / config.maxInputs)));
        },
      ),
    );
  });
});

describe("Estimator: the estimates from counters, on a manual clock", () => {
  test("arrivals over 10 s, the in-flight average and service time (Little's law) over the window, the peak", () => {
    const clock = new ManualClock(NOW);
    const e = new Estimator(60_000);
    const c = { load: 0, busyMs: 0, ended: 0, arrived: 0, coldStartMs: null as number | null };
    // Nothing measured over less than 1 s.
    expect(e.sample(clock.now(), c)).toEqual({ coldStartMs: null, serviceMs: null, arrivalsPerSec: 0, inFlightAverage: null, peakLoad: 0 });
    // 60 s of 2 inputs in flight, 40 ended, 30 arrived in the last 10 s, one sample a second.
    for (let s = 1; s <= 60; s++) {
      clock.advance(1000);
      c.busyMs += 2 * 1000;
      if (s % 3 === 0) c.ended += 2;
      if (s > 50) c.arrived += 3;
      c.load = s === 30 ? 9 : 2;
      c.coldStartMs = 20_000;
      const got = e.sample(clock.now(), c);
      if (s === 60) expect(got).toEqual({ coldStartMs: 20_000, serviceMs: 3000, arrivalsPerSec: 3, inFlightAverage: 2, peakLoad: 9 });
    }
    // 61 s later with nothing in flight: the window holds no load, the peak is gone, nothing ended → no service time.
    for (let s = 1; s <= 61; s++) {
      clock.advance(1000);
      c.load = 0;
      const got = e.sample(clock.now(), c);
      if (s === 61) expect(got).toMatchObject({ serviceMs: null, arrivalsPerSec: 0, inFlightAverage: 0, peakLoad: 0 });
    }
  });
});
