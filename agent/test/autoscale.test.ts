/**
 * The autoscaler against real worker processes, its clock in the test's hands: a burst scales from
 * minContainers to maxContainers at once (no tick needed), the surplus stops only once idle for
 * scaledownWindow, and a container with an input in flight is never stopped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ManualClock } from "../src/clock";
import { startAgent, until, type Harness } from "./helpers";

let h: Harness;
const clock = new ManualClock();

beforeAll(async () => {
  h = await startAgent(
    {
      burst: { handler: "handlers:gate", autoscaler: { minContainers: 1, maxContainers: 3, scaledownWindow: 2 } },
      zero: { handler: "handlers:square", autoscaler: { minContainers: 0, maxContainers: 2, scaledownWindow: 5 } },
    },
    { clock, tickMs: 500 },
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function release(name: string): void {
  fs.writeFileSync(path.join(h.dir, name), "");
}

test("from zero on the first input, without waiting for a tick, and back to zero after the window", async () => {
  const fn = h.agent.registry.lookup("t", "zero");
  expect(fn.pool.containers).toHaveLength(0);
  expect((await h.http.call("t", "zero", [3])).body.result).toBe(9);
  expect(fn.scaling.events[0]!.reason).toBe("scale up 0 → 1: 0 in flight + 1 queued, ceil(1 / 1) = 1; gate: cold start ?, service ?, 0.0 arrivals/s; backlog at ready 1, 0 ready + 0 warming → need 1");
  clock.advance(4999);
  expect(fn.pool.containers).toHaveLength(1);
  clock.advance(1);
  await until("scaled to zero", () => fn.pool.containers.length === 0);
  expect(fn.scaling.events.at(-1)!.reason).toMatch(/^scale down 1 → 0: 0 in flight \+ 0 queued, ceil\(0 \/ 1\) = 0, over 5s: average in flight 0\.00 → keep [01]; stopping zero-\w+ idle ≥ 5s$/);
  expect((await h.http.status("t", "zero")).status).toMatchObject({ replicas: 0, readyReplicas: 0, lastScaleReason: fn.scaling.events.at(-1)!.reason });
});

test("a burst scales 1 → 3 at once, the idle surplus stops after the window, the busy container never", async () => {
  const fn = h.agent.registry.lookup("t", "burst");
  await until("minContainers warm", () => fn.pool.containers.filter((c) => c.phase === "ready").length === 1);
  const eventsBefore = fn.scaling.events.length;
  let peak = 0;
  const watch = setInterval(() => (peak = Math.max(peak, fn.pool.containers.length)), 1);
  const calls = ["a", "b", "c", "d", "e", "f"].map((k) => h.http.call("t", "burst", [`gate-${k}`, k]));
  await until("three containers", () => fn.pool.containers.length === 3);
  const burstEvents = fn.scaling.events.slice(eventsBefore);
  expect(burstEvents.reduce((n, e) => n + e.start, 0)).toBe(2);
  expect(burstEvents[0]!.reason).toMatch(/^scale up 1 → /);
  await until("three inputs running", () => fn.load.inFlight === 3);
  expect(fn.lane.queued).toBe(3);

  // Release all but "a": five inputs finish; "a" keeps its container busy.
  for (const k of ["b", "c", "d", "e", "f"]) release(`gate-${k}`);
  await until("only a in flight", () => fn.load.inFlight === 1 && fn.lane.queued === 0);
  const busy = fn.pool.containers.find((c) => fn.load.inFlightOn(c) === 1)!;

  clock.advance(1999);
  expect(fn.pool.containers.filter((c) => c.live)).toHaveLength(3);
  clock.advance(1);
  await until("idle surplus stopped", () => fn.pool.containers.length === 1);
  expect(fn.pool.containers[0]).toBe(busy);
  expect(fn.scaling.events.at(-1)!.reason).toMatch(/^scale down 3 → 1: 1 in flight \+ 0 queued/);

  // Even long after the window, the busy container stays.
  clock.advance(10_000);
  expect(fn.pool.containers).toEqual([busy]);
  release("gate-a");
  const results = await Promise.all(calls);
  expect(results.map((r) => r.body.result)).toEqual(["a", "b", "c", "d", "e", "f"]);
  clearInterval(watch);
  expect(peak).toBe(3);

  // Idle again: back to minContainers, not below.
  clock.advance(2000);
  expect(fn.pool.containers).toEqual([busy]);
  expect(busy.phase).toBe("ready");
});
