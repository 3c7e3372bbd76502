/**
 * Issue 15's retry budget and breaker on a real agent with real Python workers, over HTTP; the agent's
 * clock in the test's hands so that the breaker's 10 s open period passes without sleeping.
 *
 * - Budget: within 60 s, retries may number max(3, 0.1 × first attempts). A function declaring 3
 *   retries: a call whose every attempt fails runs all 4 (the floor); the next runs 1 and says "retry
 *   budget exhausted"; after 40 calls that succeed (43 first attempts: 4 retries allowed) one more
 *   retry runs; once the window has passed, a failing call gets its 3 retries again.
 * - Breaker: 20 failed attempts in a row open it: new calls, spawns and maps get 503
 *   WP_ERR_FUNCTION_FAILING with Retry-After and the reason; 10 s later one probe is let through, and
 *   its success closes it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { request } from "undici";
import { ManualClock } from "../src/clock";
import { KEYED_CANCEL_GRACE_MS } from "../src/gateway/calls";
import { startAgent, until, type Harness } from "./helpers";

let h: Harness;
const clock = new ManualClock();

beforeAll(async () => {
  h = await startAgent(
    {
      budget: { handler: "handlers:picky", retries: { maxRetries: 3, initialDelay: 0 }, autoscaler: { maxContainers: 1 } },
      breaker: { handler: "handlers:picky", autoscaler: { maxContainers: 1 } },
      held: { handler: "handlers:gate", concurrency: { maxInputs: 4 } },
      delayed: { handler: "handlers:picky", retries: { maxRetries: 1, initialDelay: 60 }, autoscaler: { maxContainers: 2, scaledownWindow: 2 } },
    },
    { clock, tickMs: 500 },
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
});

test("the retry budget: within a minute, retries add at most a tenth of first attempts (at least 3); beyond it the call fails with its last error and the reason", async () => {
  // Retries wait 0 ms on the agent's manual clock: each poll of `until` fires the ones that are due.
  const call = async (x: number): Promise<any> => {
    let r: Awaited<ReturnType<typeof h.http.call>> | undefined;
    void h.http.call("t", "budget", [x]).then((x) => (r = x));
    return (
      await until("call settled", () => {
        clock.advance(0);
        return r;
      })
    ).body;
  };
  // picky(7) raises ValueError on every attempt; picky(3) returns 9.
  const failing = async (): Promise<number> => {
    const failed = await call(7);
    expect(failed).toMatchObject({ status: "failed", error: { type: "ValueError" } });
    if (failed.attempts.length < 4) expect(failed.error.reason).toBe("retry budget exhausted");
    else expect(failed.error.reason).toBeUndefined();
    return failed.attempts.length;
  };
  const retriesAvailable = async (): Promise<number> => (await h.http.status("t", "budget")).status.retriesAvailable;

  expect(await failing()).toBe(4); // the floor: 3 retries
  expect(await failing()).toBe(1);
  expect(await retriesAvailable()).toBe(0);
  for (let i = 0; i < 40; i++) expect(await call(3)).toMatchObject({ status: "succeeded", result: 9 });
  // 42 first attempts: max(3, 4.2) = 4 retries, 3 made.
  expect(await retriesAvailable()).toBe(1);
  expect(await failing()).toBe(2);
  // The window passes: its first attempts and retries with it.
  clock.advance(60_000);
  expect(await retriesAvailable()).toBe(3);
  expect(await failing()).toBe(4);
  expect((await h.http.status("t", "budget")).status.breaker).toMatch(/^closed, /);
}, 60_000);

test("the breaker: 20 failed attempts open it (503, Retry-After, reason); after 10 s one probe goes through and its success closes it", async () => {
  for (let i = 0; i < 20; i++) expect((await h.http.call("t", "breaker", [7])).body.status).toBe("failed");

  const refused = await h.http.call("t", "breaker", [3]);
  expect(refused.status).toBe(503);
  expect(refused.headers["retry-after"]).toBe("10");
  expect(refused.body.error).toMatchObject({ code: "WP_ERR_FUNCTION_FAILING", retryAfter: 10 });
  expect(refused.body.error.reason).toMatch(/^open, /);
  expect(refused.body.error.message).toContain('function "t/breaker" is failing');
  for (const r of [await h.http.spawn("t", "breaker", [3]), await h.http.req("POST", "/v1/apps/t/functions/breaker/map", [{ args: [3] }])]) {
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("WP_ERR_FUNCTION_FAILING");
  }
  expect((await h.http.status("t", "breaker")).status.breaker).toMatch(/^open/);

  clock.advance(9_000);
  expect((await h.http.call("t", "breaker", [3])).headers["retry-after"]).toBe("1");
  clock.advance(1_000);
  // Half-open: this call is the probe; it succeeds, so the breaker closes and calls run again.
  expect((await h.http.call("t", "breaker", [3])).body).toMatchObject({ status: "succeeded", result: 9 });
  await until("closed", async () => /^closed/.test((await h.http.status("t", "breaker")).status.breaker));
  expect((await h.http.call("t", "breaker", [4])).body).toMatchObject({ status: "succeeded", result: 16 });
}, 60_000);

test("an input waiting out a retry delay neither holds nor starts a container; when it queues again, it does", async () => {
  const fn = h.agent.registry.lookup("t", "delayed");
  const spawned = await h.http.spawn("t", "delayed", [7]);
  const id = spawned.body.callId as string;
  await until("the first attempt failed", () => h.agent.calls.find(id)?.state === "delayed");
  expect(fn.pool.containers).toHaveLength(1);
  // 3 s of ticks: the window (scaledownWindow 2 s) saw no load for a whole window → the container stops,
  // though an input of the function is still pending (before: it counted as queued and held it).
  for (let i = 0; i < 6; i++) clock.advance(500);
  await until("scaled to zero while the retry waits", () => fn.pool.containers.length === 0);
  expect(fn.lane.delayed).toBe(1);
  const starts = fn.scaling.events.reduce((n, e) => n + e.start, 0);
  clock.advance(10_000);
  expect(fn.scaling.events.reduce((n, e) => n + e.start, 0)).toBe(starts);
  // The delay is over: the input queues and a container starts for it.
  clock.advance(50_000);
  const done = await until("the retry ran", async () => {
    clock.advance(0);
    const r = await h.http.get(id);
    return r.body.status === "failed" ? r.body : undefined;
  });
  expect(done.attempts).toHaveLength(2);
  expect(fn.scaling.events.reduce((n, e) => n + e.start, 0)).toBe(starts + 1);
}, 60_000);

test("a keyed call whose caller went away: a retry with the key within the grace attaches to it; with none, it is cancelled", async () => {
  const fn = h.agent.registry.lookup("t", "held");
  /** A call with `key` whose connection the caller drops once the input runs. */
  const abandon = async (key: string, gate: string): Promise<void> => {
    const ac = new AbortController();
    const pending = request(`${h.url}/v1/apps/t/functions/held/call`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.http.token}`, "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify({ args: [gate, key] }),
      signal: ac.signal,
    }).catch(() => undefined);
    await until(`${key} running`, () => fn.load.inFlight > 0);
    ac.abort();
    await pending;
  };

  await abandon("k-retried", "g-retried");
  await until("the grace timer set", () => clock.timers().includes(KEYED_CANCEL_GRACE_MS));
  // Within the grace (the clock stands still): the retry attaches to the running call.
  const retry = h.http.req("POST", "/v1/apps/t/functions/held/call", { args: ["g-retried", "k-retried"] }, { "idempotency-key": "k-retried" });
  fs.writeFileSync(path.join(h.dir, "g-retried"), "");
  const r = await retry;
  expect(r.headers["idempotent-replayed"]).toBe("true");
  expect(r.body).toMatchObject({ status: "succeeded", result: "k-retried" });

  clock.advance(KEYED_CANCEL_GRACE_MS); // the first grace timer fires on a finished call: nothing happens
  await abandon("k-gone", "g-gone");
  await until("the grace timer set", () => clock.timers().includes(KEYED_CANCEL_GRACE_MS));
  clock.advance(KEYED_CANCEL_GRACE_MS - 1);
  const id = (await h.http.req("POST", "/v1/apps/t/functions/held/spawn", { args: ["g-gone", "k-gone"] }, { "idempotency-key": "k-gone" })).body.callId as string;
  expect((await h.http.get(id)).body.status).toBe("running");
  clock.advance(1);
  await until("cancelled after the grace", async () => (await h.http.get(id)).body.status === "cancelled");
  fs.writeFileSync(path.join(h.dir, "g-gone"), "");
}, 60_000);
