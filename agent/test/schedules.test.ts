/**
 * Schedules: firing times from croner in two timezones across the 2026 spring-forward changes (pure,
 * then through a real agent with a ManualClock and real Python workers), a failing schedule that shows
 * its last error and does not spin, and the missed-firing and overlap policies across an agent restart
 * on the same SQLite file. The clock is stepped; nothing waits for real time to pass.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Agent } from "../src/agent";
import { ManualClock } from "../src/clock";
import { timingOf } from "../src/schedules/timing";
import { validateApp } from "../src/spec/load";
import { FIXTURES, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const HOUR = 3_600_000;
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
    const t = timingOf({ every: "5m" });
    expect(iso(t.next(utc("2026-01-01T10:02:03Z")) as number)).toBe("2026-01-01T10:05:00.000Z");
    expect(iso(t.next(utc("2026-01-01T10:05:00Z")) as number)).toBe("2026-01-01T10:10:00.000Z");
    expect(iso(timingOf({ every: "1d" }).next(utc("2026-01-01T10:00:00Z")) as number)).toBe("2026-01-02T00:00:00.000Z");
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
    expect(b).toMatchObject({ app: "s", function: "echo", timing: 'cron "0 9 * * *" (Europe/Berlin)', lastRun: "2026-03-30T07:00:00.000Z", nextRun: "2026-03-31T07:00:00.000Z", lastStatus: "succeeded", consecutiveFailures: 0 });
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

describe("policies across a restart on the same SQLite file", () => {
  const dir = tempDir("sched-restart");
  const stateDir = path.join(dir, "state");
  const fixture = path.join(dir, "fixture");
  fs.mkdirSync(fixture);
  const doc = {
    name: "r",
    functions: {
      echo: { handler: "handlers:echo", env: { FIXTURE_DIR: fixture } },
      gate: { handler: "handlers:gate", env: { FIXTURE_DIR: fixture } },
    },
    schedules: {
      once: { function: "echo", every: "1h", args: ["once"] },
      skipmissed: { function: "echo", every: "1h", missed: "skip" },
      overlap: { function: "gate", every: "1h", args: ["open"] },
      allow: { function: "gate", every: "1h", args: ["open"], overlap: "allow" },
    },
  };
  const byName = (agent: Agent) => Object.fromEntries(agent.schedules.list().map((s) => [s.name, s]));

  test("missed: one call on start for runOnce, none for skip; overlap: skip while the recovered call runs, allow calls anyway", async () => {
    const clock1 = new ManualClock(utc("2026-05-01T10:30:00Z"));
    const first = await start(doc, stateDir, clock1);
    clock1.advance(HOUR / 2); // 11:00: all four fire
    await until("11:00 firings", () => first.agent.schedules.firings.filter((f) => f.outcome === "called").length === 4);
    await until("echo calls done", () => byName(first.agent).once!.lastStatus === "succeeded" && byName(first.agent).skipmissed!.lastStatus === "succeeded");
    const held = byName(first.agent).overlap!.lastCallId as string;
    await until("gated call running", () => first.agent.calls.find(held)?.status === "running");
    // A crash: the store is closed before the running calls finish, so their results are never written
    // (as with kill -9); then the gate opens so the workers can be stopped.
    first.agent.schedules.close();
    await first.agent.store.close();
    fs.writeFileSync(path.join(fixture, "open"), "");
    await first.agent.close(); // the gated calls were running: recovery queues them again

    const clock2 = new ManualClock(utc("2026-05-01T14:10:00Z")); // 12:00, 13:00 and 14:00 were missed
    const second = await start(doc, stateDir, clock2);
    const s = byName(second.agent);
    const firings = second.agent.schedules.firings;
    const on = (key: string) => firings.filter((f) => f.key === `r/${key}`).map((f) => ({ at: iso(f.at), outcome: f.outcome }));
    await until("missed firing called", () => on("once").length === 1 && firings.filter((f) => f.outcome === "called").length === 2);
    expect(on("once")).toEqual([{ at: "2026-05-01T12:00:00.000Z", outcome: "called" }]);
    expect(on("skipmissed")).toEqual([{ at: "2026-05-01T12:00:00.000Z", outcome: "skipped-missed" }]);
    expect(on("overlap")).toEqual([{ at: "2026-05-01T12:00:00.000Z", outcome: "skipped-overlap" }]);
    expect(on("allow")).toEqual([{ at: "2026-05-01T12:00:00.000Z", outcome: "called" }]);
    for (const name of ["once", "skipmissed", "overlap", "allow"]) expect(s[name]!.nextRun).toBe("2026-05-01T15:00:00.000Z");
    expect(s.overlap!.lastCallId).toBe(held);
    expect(s.overlap!.skipped).toBe(1);

    // The recovered call runs again and finishes; the next firing of `overlap` makes a call again.
    await until("recovered call done", () => byName(second.agent).overlap!.lastStatus === "succeeded");
    expect((await second.http.result(held)).result).toBe("open");
    clock2.advance(utc("2026-05-01T15:00:00Z") - clock2.now());
    await until("15:00 firing", () => on("overlap").length === 2);
    expect(on("overlap")[1]).toEqual({ at: "2026-05-01T15:00:00.000Z", outcome: "called" });
    await until("15:00 call done", () => byName(second.agent).overlap!.lastStatus === "succeeded");
    await second.agent.close();
  }, 60_000);
});
