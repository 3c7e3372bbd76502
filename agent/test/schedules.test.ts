/**
 * Schedules: firing times from croner in two timezones across the 2026 spring-forward changes (pure,
 * then through a real agent with a ManualClock and real Python workers), a failing schedule that shows
 * its last error and does not spin. The clock is stepped; nothing waits for real time to pass. The
 * missed-firing and overlap policies across a crash of the agent process are in schedules-restart.test.ts.
 */
import * as path from "node:path";
import { Agent } from "../src/agent";
import { ManualClock } from "../src/clock";
import { timingOf } from "../src/schedules/timing";
import { validateApp } from "../src/spec/load";
import { FIXTURES, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const utc = (s: string): number => Date.parse(s);
const iso = (ms: number): string => new Date(ms).toISOString();

async function start(doc: object, stateDir: string, clock: ManualClock): Promise<{ agent: Agent; http: Http }> {
  const agent = new Agent({ stateDir, port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, clock, tickMs: 600_000 });
  await agent.run([validateApp(doc, "test app", FIXTURES)]);
  return { agent, http: new Http(agent.url, TOKEN) };
}

describe("timing", () => {
  test("09:00 local in Berlin and New York across each spring-forward change", () => {
    const berlin = timingOf({ cron: "0 9 * * *", timezone: "Europe/Berlin" });
    const ny = timingOf({ cron: "0 9 * * *", timezone: "America/New_York" });
    const runs = (t: ReturnType<typeof timingOf>, from: string, n: number): string[] => {
      const out: string[] = [];
      let at = utc(from);
      for (let i = 0; i < n; i++) out.push(iso((at = t.next(at) as number)));
      return out;
    };
    // Europe/Berlin: CET (UTC+1) until 2026-03-29 02:00, then CEST (UTC+2).
    expect(runs(berlin, "2026-03-27T12:00:00Z", 3)).toEqual(["2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
    // America/New_York: EST (UTC−5) until 2026-03-08 02:00, then EDT (UTC−4).
    expect(runs(ny, "2026-03-06T20:00:00Z", 3)).toEqual(["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"]);
    // A local time that does not exist (02:30 on the change day) fires at the first valid time after it.
    expect(runs(timingOf({ cron: "30 2 * * *", timezone: "America/New_York" }), "2026-03-07T12:00:00Z", 2)).toEqual(["2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"]);
    // One repeated by the fall-back change (01:30 on 2026-11-01) fires once.
    expect(runs(timingOf({ cron: "30 1 * * *", timezone: "America/New_York" }), "2026-10-31T12:00:00Z", 2)).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
  });

  test("periods fire at multiples of the period since the epoch", () => {
    const t = timingOf({ every: "5m", timezone: "UTC" });
    expect(iso(t.next(utc("2026-01-01T10:02:03Z")) as number)).toBe("2026-01-01T10:05:00.000Z");
    expect(iso(t.next(utc("2026-01-01T10:05:00Z")) as number)).toBe("2026-01-01T10:10:00.000Z");
    expect(iso(timingOf({ every: "1d", timezone: "UTC" }).next(utc("2026-01-01T10:00:00Z")) as number)).toBe("2026-01-02T00:00:00.000Z");
  });
});

describe("an agent on a manual clock", () => {
  let agent: Agent;
  let http: Http;
  const clock = new ManualClock(utc("2026-03-06T00:00:00Z"));

  beforeAll(async () => {
    ({ agent, http } = await start(
      {
        name: "s",
        functions: {
          echo: { handler: "handlers:echo", autoscaler: { minContainers: 1, maxContainers: 1 } },
          boom: { handler: "handlers:boom", autoscaler: { minContainers: 1, maxContainers: 1 } },
        },
        schedules: {
          berlin: { function: "echo", cron: "0 9 * * *", timezone: "Europe/Berlin", args: ["berlin"], kwargs: { n: 1 } },
          newyork: { function: "echo", cron: "0 9 * * *", timezone: "America/New_York", args: ["ny"] },
          failing: { function: "boom", every: "1d", args: [7] },
        },
      },
      path.join(tempDir("sched"), "state"),
      clock,
    ));
    // Container starts run on real time, but a failed start's backoff is on the agent's clock: let both
    // containers be up before the test steps the manual clock, so no start races the first firings.
    await until("containers ready", () => ["echo", "boom"].every((f) => agent.registry.lookup("s", f).pool.containers.some((c) => c.phase === "ready")), 45_000);
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
  });

  test("fires each schedule at its local time across DST, as durable calls with its arguments", async () => {
    const end = utc("2026-03-31T00:00:00Z");
    // Step from firing to firing; each step waits until that firing's call is final.
    for (;;) {
      const next = Math.min(...agent.schedules.list().map((s) => Date.parse(s.nextRun as string)));
      if (next >= end) break;
      const before = agent.schedules.firings.length;
      clock.advance(next - clock.now());
      await until("firings called", () => agent.schedules.firings.length > before && agent.schedules.list().every((s) => s.lastStatus !== "pending" && s.lastStatus !== "running"));
    }
    const at = (key: string): string[] => agent.schedules.firings.filter((f) => f.key === key && f.outcome === "called").map((f) => iso(f.at));
    const berlin = at("s/berlin");
    const ny = at("s/newyork");
    expect(berlin).toHaveLength(25);
    expect(ny).toHaveLength(25);
    expect(berlin.filter((t) => t >= "2026-03-27" && t < "2026-03-31")).toEqual(["2026-03-27T08:00:00.000Z", "2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
    expect(ny.filter((t) => t >= "2026-03-06" && t < "2026-03-10")).toEqual(["2026-03-06T14:00:00.000Z", "2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z", "2026-03-09T13:00:00.000Z"]);
    for (const t of berlin) expect(t.endsWith(t < "2026-03-29" ? "T08:00:00.000Z" : "T07:00:00.000Z")).toBe(true);

    const listed = (await http.req("GET", "/v1/schedules")).body.schedules;
    const b = listed.find((s: { name: string }) => s.name === "berlin");
    expect(b).toMatchObject({
      app: "s",
      function: "echo",
      timing: 'cron "0 9 * * *" (Europe/Berlin)',
      lastRun: "2026-03-30T07:00:00.000Z",
      nextRun: "2026-03-31T07:00:00.000Z",
      lastStatus: "succeeded",
      consecutiveFailures: 0,
    });
    const result = await http.result(b.lastCallId);
    expect(result).toMatchObject({ status: "succeeded", result: { args: ["berlin"], kwargs: { n: 1 } } });
    // Status of the function and of the app show the schedules too.
    expect((await http.status("s", "echo")).schedules.map((s: { name: string }) => s.name).sort()).toEqual(["berlin", "newyork"]);
    expect((await http.req("GET", "/v1/apps/s")).body.schedules).toHaveLength(3);
  }, 60_000);

  test("a failing schedule shows its last error and consecutive failures, one call per firing", () => {
    const failing = agent.schedules.list().find((s) => s.name === "failing")!;
    const calls = agent.schedules.firings.filter((f) => f.key === "s/failing");
    expect(calls.every((f) => f.outcome === "called")).toBe(true);
    expect(calls).toHaveLength(24); // 2026-03-07 … 2026-03-30 at midnight UTC (the agent started at 03-06 00:00): no more, however often it failed
    expect(failing).toMatchObject({ lastStatus: "failed", consecutiveFailures: 24, lastError: "ValueError: bad input 7" });
  });
});
