/**
 * The dispatcher against real workers, with the agent's clock in the test's hands: batching (full
 * batches under load, flush on waitMs), per-container concurrency measured by the worker, retries with
 * exact attempt counts and delays, per-attempt timeouts that recycle the container, and a worker
 * killed with SIGKILL in the middle of an input, and the result TTL.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ManualClock } from "../src/clock";
import { startAgent, until, workerStats, ndjson, type Harness } from "./helpers";

let h: Harness;
const clock = new ManualClock();

beforeAll(async () => {
  h = await startAgent(
    {
      full: { handler: "handlers:lengths", batching: { maxBatchSize: 4, waitMs: 1000 }, autoscaler: { maxContainers: 1 } },
      wait: { handler: "handlers:lengths", batching: { maxBatchSize: 4, waitMs: 250 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
      mismatch: { handler: "handlers:wrong_length", batching: { maxBatchSize: 2, waitMs: 10 }, retries: { maxRetries: 2 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
      jsbatch: { handler: "handlers:lengths", runtime: "node", batching: { maxBatchSize: 5, waitMs: 1000 }, autoscaler: { maxContainers: 1 } },
      conc: { handler: "handlers:slow", concurrency: { maxInputs: 3 }, autoscaler: { maxContainers: 2 } },
      boom: { handler: "handlers:boom", retries: { maxRetries: 3, initialDelay: 1, backoffCoefficient: 2, maxDelay: 3 }, autoscaler: { maxContainers: 1 } },
      jsboom: { handler: "handlers:boom", runtime: "node", retries: { maxRetries: 1, initialDelay: 0 }, autoscaler: { maxContainers: 1 } },
      hang: { handler: "handlers:slow", timeout: 1, autoscaler: { maxContainers: 1 } },
      crash: { handler: "handlers:crash_once", retries: { maxRetries: 1, initialDelay: 0 }, autoscaler: { maxContainers: 1 } },
      double: { handler: "handlers:double", runtime: "node" },
    },
    { clock, resultTtl: 600, sweepInterval: 60 },
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function port(fn: string): number {
  const c = h.agent.registry.lookup("t", fn).pool.containers.find((x) => x.phase === "ready");
  if (c?.handle == null) throw new Error(`no ready container of ${fn}`);
  return c.handle.port;
}

describe("batching", () => {
  test.each([
    ["full", 4, 40],
    ["jsbatch", 5, 35],
  ] as const)("%s: a backlog goes out in full batches of maxBatchSize", async (fn, size, n) => {
    const inputs = Array.from({ length: n }, (_, i) => ({ args: ["x".repeat(i)] }));
    const r = await h.http.req("POST", `/v1/apps/t/functions/${fn}/map`, inputs);
    const lines = ndjson(r.text);
    expect(lines.slice(0, -1).map((l) => l.result)).toEqual(inputs.map((_, i) => i));
    const stats = await workerStats(port(fn));
    expect(stats).toMatchObject({ invocations: n, batches: n / size, maxBatch: size });
  });

  test("a partial batch waits for waitMs of the agent's clock, then goes out as it is", async () => {
    const fn = h.agent.registry.lookup("t", "wait");
    await until("warm container", () => fn.pool.containers.some((c) => c.phase === "ready"));
    const before = await workerStats(port("wait"));
    const pending = h.http.req("POST", "/v1/apps/t/functions/wait/map", [{ args: ["a"] }, { args: ["bb"] }, { args: ["ccc"] }]);
    await until("three inputs queued", () => fn.lane.queued === 3);
    clock.advance(249);
    expect(fn.lane.queued).toBe(3);
    expect(fn.load.inFlight).toBe(0);
    clock.advance(1);
    expect(fn.load.inFlight).toBe(3);
    expect(
      ndjson((await pending).text)
        .slice(0, -1)
        .map((l) => l.result),
    ).toEqual([1, 2, 3]);
    const after = await workerStats(port("wait"));
    expect(after.batches - before.batches).toBe(1);
    expect(after.invocations - before.invocations).toBe(3);
  });

  test("a handler returning a list of another length fails the batch with BatchSizeMismatch, not retried", async () => {
    const fn = h.agent.registry.lookup("t", "mismatch");
    await until("warm container", () => fn.pool.containers.some((c) => c.phase === "ready"));
    const pending = h.http.req("POST", "/v1/apps/t/functions/mismatch/map", [{ args: [1] }, { args: [2] }]);
    const lines = ndjson((await pending).text).slice(0, -1);
    for (const l of lines) {
      expect(l.status).toBe("failed");
      expect(l.error.type).toBe("BatchSizeMismatch");
      expect(l.error.message).toMatch(/1.*2|2.*1/);
      expect(l.attempts).toHaveLength(1);
    }
  });
});

test("per-container concurrency never exceeds maxInputs (measured by the workers)", async () => {
  const inputs = Array.from({ length: 18 }, () => ({ args: [0.15] }));
  const r = await h.http.req("POST", "/v1/apps/t/functions/conc/map?ordered=false", inputs);
  expect(ndjson(r.text).pop()).toMatchObject({ succeeded: 18 });
  const fn = h.agent.registry.lookup("t", "conc");
  const stats = await Promise.all(fn.pool.containers.filter((c) => c.handle !== null).map((c) => workerStats(c.handle!.port)));
  expect(stats.length).toBeGreaterThanOrEqual(1);
  for (const s of stats) expect(s.maxInFlight).toBeLessThanOrEqual(3);
  expect(Math.max(...stats.map((s) => s.maxInFlight))).toBe(3);
  expect(stats.reduce((sum, s) => sum + s.invocations, 0)).toBe(18);
});

describe("retries", () => {
  test("maxRetries 3 with initialDelay 1s × 2^(n−1) capped at 3s: 4 attempts, 1s, 2s, 3s apart", async () => {
    const spawned = await h.http.spawn("t", "boom", [5]);
    const id = spawned.body.callId as string;
    const input = () => h.agent.calls.find(id)!;
    for (const [attempt, delay] of [
      [1, 1000],
      [2, 2000],
      [3, 3000],
    ] as const) {
      await until(`attempt ${attempt} failed`, () => input().state === "delayed" && input().attempt === attempt);
      clock.advance(delay - 1);
      expect(input().state).toBe("delayed");
      clock.advance(1);
      expect(input().attempt).toBe(attempt + 1);
    }
    const done = await h.http.result(id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ type: "ValueError", message: "bad input 5" });
    expect(done.attempt).toBe(4);
    const attempts = done.attempts as Array<{ n: number; startedAt: number; finishedAt: number; outcome: string; retryDelayMs?: number }>;
    expect(attempts.map((a) => [a.n, a.outcome, a.retryDelayMs])).toEqual([
      [1, "failed", 1000],
      [2, "failed", 2000],
      [3, "failed", 3000],
      [4, "failed", undefined],
    ]);
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.startedAt - attempts[i - 1]!.finishedAt).toBe(attempts[i - 1]!.retryDelayMs);
    // Durable: the same attempts are in the store.
    await until("stored", () => h.agent.calls.find(id) === undefined);
    expect((await h.agent.store.get(id))!.attempts).toHaveLength(4);
  });

  test("a synchronous call retries too and reports its attempts (node runtime)", async () => {
    const fn = h.agent.registry.lookup("t", "jsboom");
    const pending = h.http.call("t", "jsboom", [1]);
    await until("first attempt failed", () => fn.lane.delayed === 1);
    clock.advance(0);
    const r = await pending;
    expect(r.body.status).toBe("failed");
    expect(r.body.error.type).toBe("TypeError");
    expect(r.body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["failed", "failed"]);
  });
});

test("an attempt over the timeout fails with FunctionTimeoutError and its container is recycled", async () => {
  const fn = h.agent.registry.lookup("t", "hang");
  const pending = h.http.call("t", "hang", [30]);
  await until("input running in the worker", async () => fn.pool.containers[0]?.phase === "ready" && (await workerStats(port("hang"))).inFlight === 1);
  const container = fn.pool.containers[0]!;
  const pid = Number(container.handle!.ref.replace("pid ", ""));
  clock.advance(999);
  expect(fn.load.inFlight).toBe(1);
  clock.advance(1);
  const r = await pending;
  expect(r.body.status).toBe("failed");
  expect(r.body.error).toMatchObject({ type: "FunctionTimeoutError", message: expect.stringContaining("timeout of 1s") });
  await until("timed-out container gone", () => !fn.pool.containers.includes(container));
  expect(container.exit).toBe("killed by SIGKILL");
  expect(() => process.kill(pid, 0)).toThrow();
  // The next input gets a fresh container.
  expect((await h.http.call("t", "hang", [0, "fresh"])).body.result).toBe("fresh");
});

test("a worker killed with SIGKILL mid-input fails the attempt, which is retried per policy", async () => {
  const fn = h.agent.registry.lookup("t", "crash");
  const spawned = await h.http.spawn("t", "crash", ["k1"]);
  const marker = path.join(h.dir, "crash-k1");
  await until("input running", () => fs.existsSync(marker));
  // The worker's own pid is its sandbox's; the container's process (bwrap) is the one to kill from here.
  const container = fn.pool.containers.find((c) => fn.load.inFlightOn(c) === 1)!;
  process.kill(Number(container.handle!.ref.replace("pid ", "")), "SIGKILL");
  await until("attempt 1 failed, retry delayed", () => fn.lane.delayed === 1);
  // The retry is due at once (initialDelay 0); the replacement container after 1 s if the killed one
  // had been ready for less than a minute of the agent's clock (pool.ts, crash loops).
  clock.advance(0);
  await until("the killed container to be gone", () => !fn.pool.containers.includes(container));
  // Past the 1 s hold, and past the autoscaler's next tick on the agent's clock after it.
  clock.advance(2000);
  const done = await h.http.result(spawned.body.callId);
  expect(done).toMatchObject({ status: "succeeded", result: "survived k1", attempt: 2 });
  expect(done.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(["crashed", "succeeded"]);
  expect(done.attempts[0].error.type).toBe("ContainerCrashed");
  expect(done.attempts[0].container).not.toBe(done.attempts[1].container);
});

test("results of spawned calls are kept for resultTtl, then swept", async () => {
  const spawned = await h.http.spawn("t", "double", [21]);
  const id = spawned.body.callId as string;
  expect((await h.http.result(id)).result).toBe(42);
  await until("stored", () => h.agent.calls.find(id) === undefined);
  clock.advance(540_000);
  expect((await h.http.get(id)).status).toBe(200);
  clock.advance(120_000); // past the TTL, and a sweep (every 60 s) has run
  await until("swept", async () => (await h.http.get(id)).status === 404);
  expect((await h.http.get(id)).body.error.code).toBe("WP_ERR_CALL_NOT_FOUND");
});
