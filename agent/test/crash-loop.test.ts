/**
 * Issue 15's crash-loop guard on a real agent with real Python workers: a handler that ends its worker
 * process on every input (handlers:die) makes each container exit right after it was ready. Each such
 * exit holds the next start back (1 s, then 2 s, doubling to 30 s) on the agent's clock, which the test
 * holds, so no time passes unless the test says so. Without the guard every input waiting would
 * cold-start the next container at once, a GPU cold start per crash.
 */
import { ManualClock } from "../src/clock";
import { startAgent, until, type Harness } from "./helpers";

let h: Harness;
const clock = new ManualClock();

beforeAll(async () => {
  h = await startAgent({ crashy: { handler: "handlers:die", retries: { maxRetries: 0 }, autoscaler: { maxContainers: 1 } } }, { clock, tickMs: 100 });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const status = async (): Promise<any> => (await h.http.status("t", "crashy")).status;

test("a container that exits right after it was ready holds the next start back, longer each time; the status says why", async () => {
  const first = await h.http.spawn("t", "crashy", []);
  expect((await h.http.result(first.body.callId)).status).toBe("failed");
  await until("the crash to be counted", async () => ((await status()).crashLoop?.crashes === 1 ? true : undefined));

  // The next input waits: no container starts before the agent's clock has moved 1 s.
  const second = await h.http.spawn("t", "crashy", []);
  const held = await until("the start to be held back", async () => {
    const s = await status();
    return s.startHeld === "start held back 1000ms after 1 crash(es) soon after ready" ? s : undefined;
  });
  expect(held).toMatchObject({ replicas: 1, readyReplicas: 0, queueDepth: 1 });
  expect(held.crashLoop.lastExit).toMatch(/^container crashy-[0-9a-f]+ .* 0 s after it was ready$/);
  expect((await h.http.req("GET", "/v1/apps/t/functions/crashy")).body.containers).toEqual([]);

  // 1 s later it starts, crashes on the input, and the next wait is 2 s.
  clock.advance(1000);
  expect((await h.http.result(second.body.callId)).status).toBe("failed");
  // Counted when its connection broke under the input, before the failure was answered (not at the
  // exit, a few ms later): an input sent now already finds the start held back.
  expect((await status()).crashLoop.crashes).toBe(2);
  const third = await h.http.spawn("t", "crashy", []);
  await until("the second back-off", async () => ((await status()).startHeld === "start held back 2000ms after 2 crash(es) soon after ready" ? true : undefined));
  expect((await status()).crashLoop.crashes).toBe(2);
  clock.advance(2000);
  expect((await h.http.result(third.body.callId)).status).toBe("failed");
}, 60_000);
