/**
 * Map's bounded memory: whatever the number of inputs, at most `mapWindow` of one map are admitted and
 * not yet written back, the request body is read only as inputs are admitted, and in ordered mode one
 * slow input at the head holds everything behind it (backpressure) instead of buffering the rest.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WarmpoolClient, type Invocation } from "../src/client/client";
import { startAgent, TOKEN, until, workerStats, type Harness } from "./helpers";

let h: Harness;
let client: WarmpoolClient;
const WINDOW = 64;

beforeAll(async () => {
  h = await startAgent(
    {
      double: {
        handler: "handlers:double",
        runtime: "node",
        concurrency: { maxInputs: 16 },
        autoscaler: { minContainers: 1, maxContainers: 1 },
      },
      gate: {
        handler: "handlers:gate",
        concurrency: { maxInputs: 8 },
        autoscaler: { minContainers: 1, maxContainers: 1 },
      },
    },
    { mapWindow: WINDOW, maxPendingInputs: 100_000 },
  );
  client = new WarmpoolClient({ url: h.url, token: TOKEN });
}, 30_000);

afterAll(async () => {
  fs.writeFileSync(path.join(h.dir, "map-head"), "");
  await client?.close();
  await h?.close();
});

test("10,000 streamed inputs never have more than mapWindow outstanding in the agent", async () => {
  const fn = h.agent.registry.lookup("t", "double");
  let peak = 0;
  const watch = setInterval(() => (peak = Math.max(peak, fn.lane.queued + fn.load.inFlight)), 1);
  let n = 0;
  let sum = 0;
  for await (const r of client.fn("t", "double").map(
    (function* () {
      for (let i = 0; i < 10_000; i++) yield i;
    })(),
    { ordered: false },
  )) {
    n++;
    sum += r as number;
  }
  clearInterval(watch);
  expect(n).toBe(10_000);
  expect(sum).toBe(2 * ((10_000 * 9_999) / 2));
  expect(peak).toBeGreaterThan(0);
  expect(peak).toBeLessThanOrEqual(WINDOW);
}, 60_000);

test("ordered: a slow first input holds the stream at the window, and the client's input is not drained", async () => {
  const fn = h.agent.registry.lookup("t", "gate");
  const port = fn.pool.containers[0]!.handle!.port;
  const before = (await workerStats(port)).invocations;
  const total = 5000;
  const pad = "x".repeat(4096); // 20 MB of inputs: more than TCP buffers can hold
  let produced = 0;
  async function* inputs(): AsyncGenerator<Invocation> {
    produced++;
    yield { args: ["map-head", { i: 0 }] };
    for (let i = 1; i < total; i++) {
      produced++;
      yield { args: ["map-open", { i, pad }] };
    }
  }
  fs.writeFileSync(path.join(h.dir, "map-open"), "");
  const results: Array<{ i: number }> = [];
  const done = (async () => {
    for await (const line of client.fn("t", "gate").mapLines(inputs())) results.push(line.result as { i: number });
  })();
  // Everything in the window behind the head has run; nothing can be written before the head's result.
  await until("window full", async () => fn.load.inFlight === 1 && fn.lane.queued === 0 && (await workerStats(port)).invocations - before === WINDOW);
  for (let i = 0; i < 3; i++) expect((await h.http.req("GET", "/healthz")).status).toBe(200); // let pending I/O reach the agent
  expect((await workerStats(port)).invocations - before).toBe(WINDOW);
  expect(fn.lane.queued).toBe(0);
  expect(results).toEqual([]);
  expect(produced).toBeLessThan(total);
  fs.writeFileSync(path.join(h.dir, "map-head"), "");
  await done;
  expect(results.map((r) => r.i)).toEqual(Array.from({ length: total }, (_, i) => i));
}, 90_000);

test("a map whose body the agent holds back (its window is full) is not cut as a slow client", async () => {
  // Bodies must arrive at 1 MB/s after 1 s here (an allowance of 2 s for this 1 MB body); the body
  // takes ~4 s to be read, because the agent reads it only as fast as a 1-input window lets a 0.2 s
  // handler finish inputs (1 MB is more than socket buffers hold, so the client waits on the agent).
  const slow = await startAgent(
    {
      slow: {
        handler: "handlers:slow",
        autoscaler: { minContainers: 1, maxContainers: 1 },
      },
    },
    { mapWindow: 1, bodyTimeout: 1, bodyMinRate: 1_000_000 },
  );
  const c = new WarmpoolClient({ url: slow.url, token: TOKEN });
  try {
    const results: unknown[] = [];
    for await (const r of c.fn("t", "slow").mapLines(
      (function* () {
        for (let i = 0; i < 20; i++) yield { args: [0.2, "x".repeat(50_000)] } as Invocation;
      })(),
    ))
      results.push(r.status);
    expect(results).toEqual(new Array(20).fill("succeeded"));
  } finally {
    await c.close();
    await slow.close();
  }
}, 60_000);
