/**
 * Missed-firing and overlap policies of schedules after an agent crash: a real agent process (forked,
 * real SQLite state dir, real Python workers, real HTTP) fires its schedules, is killed with SIGKILL
 * while two scheduled calls are running, and a new process starts on the same state dir three hours
 * later. `missed: runOnce` makes exactly one catch-up call, `skip` none; `overlap: skip` does not double
 * the call that the crash interrupted (recovery re-queues it and it runs again), `allow` does.
 *
 * The agent runs as a separate process because only a process can be killed mid-write: an in-process
 * Agent cannot lose its memory and its workers the way kill -9 does. Its clock is a ManualClock that this
 * test steps over IPC (fixtures/clock-agent.js), so no test waits for a firing time to come round.
 */
import { fork, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import type { Firing } from "../src/schedules/scheduler";
import { FIXTURES, fixtureVolume, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const CHILD = path.resolve(__dirname, "fixtures", "clock-agent.js");
const utc = (s: string): number => Date.parse(s);
const iso = (ms: number): string => new Date(ms).toISOString();

interface Child {
  proc: ChildProcess;
  http: Http;
  exited: Promise<void>;
  advance(to: string): Promise<void>;
  firings(): Promise<Firing[]>;
}

const children: Child[] = [];

/** Forks an agent on `stateDir` whose clock reads `now`; resolves once its gateway listens. */
function startChild(stateDir: string, doc: object, now: string): Promise<Child> {
  const config = { stateDir, doc, appDir: FIXTURES, runtimesDir: RUNTIMES, token: TOKEN, now: utc(now) };
  const proc = fork(CHILD, [JSON.stringify(config)], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const waiting = new Map<number, (reply: any) => void>();
  let nextId = 0;
  const ask = (msg: object): Promise<any> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      proc.send({ ...msg, id });
    });
  return new Promise((resolve, reject) => {
    proc.on("message", (msg: any) => {
      if (msg.op === "ready") {
        const child: Child = {
          proc,
          http: new Http(msg.url, TOKEN),
          exited,
          advance: async (to) => void (await ask({ op: "advance", to: utc(to) })),
          firings: async () => (await ask({ op: "firings" })).firings,
        };
        children.push(child);
        resolve(child);
      } else {
        waiting.get(msg.id)?.(msg);
        waiting.delete(msg.id);
      }
    });
    proc.once("exit", (code, signal) => reject(new Error(`agent process exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}

afterAll(async () => {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGTERM");
    await c.exited;
  }
});

test("after kill -9: runOnce makes one catch-up call, skip none; overlap skip does not double the re-queued call, allow does", async () => {
  const dir = tempDir("sched-crash");
  const stateDir = path.join(dir, "state");
  const fx = fixtureVolume(stateDir, "r");
  const gateDir = fx.dir;
  // One function per schedule, so the calls table counts each schedule's calls by `fn`.
  const gated = { handler: "handlers:gate", ...fx.spec, timeout: 86_400 }; // stepped hours must not time the held calls out
  const doc = {
    name: "r",
    functions: { once: { handler: "handlers:echo" }, skipmissed: { handler: "handlers:echo" }, overlap: gated, allow: gated },
    schedules: {
      once: { function: "once", every: "1h", args: ["once"] },
      skipmissed: { function: "skipmissed", every: "1h", missed: "skip" },
      overlap: { function: "overlap", every: "1h", args: ["open", "overlap"] },
      allow: { function: "allow", every: "1h", args: ["open", "allow"], overlap: "allow" },
    },
  };
  const schedules = async (c: Child): Promise<Record<string, any>> => Object.fromEntries((await c.http.req("GET", "/v1/schedules?app=r")).body.schedules.map((s: { name: string }) => [s.name, s]));
  const callsOf = (fn: string): number => {
    const db = new Database(path.join(stateDir, "state.db"), { readonly: true });
    try {
      return db.prepare("SELECT count(*) FROM calls WHERE fn = ?").pluck().get(`r/${fn}`) as number;
    } finally {
      db.close();
    }
  };
  const callStatus = async (c: Child, id: string): Promise<string> => (await c.http.get(id)).body.status;

  const first = await startChild(stateDir, doc, "2026-05-01T10:30:00Z");
  await first.advance("2026-05-01T11:00:00Z");
  const before = await until("11:00 calls made, echoes done, gates running", async () => {
    const s = await schedules(first);
    const done = s.once.lastStatus === "succeeded" && s.skipmissed.lastStatus === "succeeded" && s.overlap.lastStatus === "running" && s.allow.lastStatus === "running";
    return done && s;
  });
  for (const name of ["once", "skipmissed", "overlap", "allow"]) expect(before[name]).toMatchObject({ lastRun: "2026-05-01T11:00:00.000Z", nextRun: "2026-05-01T12:00:00.000Z" });
  expect((await first.firings()).map((f) => f.outcome)).toEqual(["called", "called", "called", "called"]);
  const held = before.overlap.lastCallId as string;
  const heldAllow = before.allow.lastCallId as string;

  // The crash: no close, no result written for the two gated calls, their workers orphaned.
  first.proc.kill("SIGKILL");
  await first.exited;

  // 12:00, 13:00 and 14:00 were missed.
  const second = await startChild(stateDir, doc, "2026-05-01T14:10:00Z");
  const on = (firings: Firing[], name: string) => firings.filter((f) => f.key === `r/${name}`).map((f) => ({ at: iso(f.at), outcome: f.outcome }));
  const atStart = await until("missed firings handled", async () => {
    const f = await second.firings();
    return f.length === 4 && f;
  });
  // One firing each, for the latest missed one (14:00).
  expect(on(atStart, "once")).toEqual([{ at: "2026-05-01T14:00:00.000Z", outcome: "called" }]);
  expect(on(atStart, "skipmissed")).toEqual([{ at: "2026-05-01T14:00:00.000Z", outcome: "skipped-missed" }]);
  expect(on(atStart, "overlap")).toEqual([{ at: "2026-05-01T14:00:00.000Z", outcome: "skipped-overlap" }]);
  expect(on(atStart, "allow")).toEqual([{ at: "2026-05-01T14:00:00.000Z", outcome: "called" }]);
  expect({ once: callsOf("once"), skipmissed: callsOf("skipmissed"), overlap: callsOf("overlap"), allow: callsOf("allow") }).toEqual({ once: 2, skipmissed: 1, overlap: 1, allow: 2 });
  const after = await schedules(second);
  for (const name of ["once", "skipmissed", "overlap", "allow"]) expect(after[name].nextRun).toBe("2026-05-01T15:00:00.000Z");
  // Every firing that fell due and made no call is counted in `skipped`: calls + skipped = firings due.
  expect(after.once).toMatchObject({ lastRun: "2026-05-01T14:00:00.000Z", skipped: 2 });
  expect(after.skipmissed).toMatchObject({ lastRun: "2026-05-01T11:00:00.000Z", lastCallId: before.skipmissed.lastCallId, skipped: 3 });
  expect(after.overlap).toMatchObject({ lastRun: "2026-05-01T11:00:00.000Z", lastCallId: held, skipped: 3 });
  expect(after.allow).toMatchObject({ lastRun: "2026-05-01T14:00:00.000Z", skipped: 2 });
  expect(after.allow.lastCallId).not.toBe(heldAllow);
  // The catch-up call runs with the schedule's arguments (and is final before 15:00, which `once` would otherwise skip as an overlap).
  expect(await second.http.result(after.once.lastCallId)).toMatchObject({ status: "succeeded", result: { args: ["once"] } });
  await until("catch-up call settled in the scheduler", async () => (await schedules(second)).once.lastStatus === "succeeded");

  // The interrupted calls run again on new workers (at-least-once) and hold there: the gate is shut.
  await until("re-queued calls running again", async () => (await callStatus(second, held)) === "running" && (await callStatus(second, heldAllow)) === "running");
  await second.advance("2026-05-01T15:00:00Z");
  const at15 = await until("15:00 firings", async () => {
    const f = await second.firings();
    return f.length === 8 && f.slice(4);
  });
  expect(on(at15, "once")).toEqual([{ at: "2026-05-01T15:00:00.000Z", outcome: "called" }]);
  expect(on(at15, "skipmissed")).toEqual([{ at: "2026-05-01T15:00:00.000Z", outcome: "called" }]);
  expect(on(at15, "overlap")).toEqual([{ at: "2026-05-01T15:00:00.000Z", outcome: "skipped-overlap" }]);
  expect(on(at15, "allow")).toEqual([{ at: "2026-05-01T15:00:00.000Z", outcome: "called" }]);
  expect({ overlap: callsOf("overlap"), allow: callsOf("allow") }).toEqual({ overlap: 1, allow: 3 });
  expect(await callStatus(second, held)).toBe("running");
  expect((await schedules(second)).overlap).toMatchObject({ lastCallId: held, skipped: 4 });

  // Once the recovered call finishes, the next firing of `overlap` makes a call again.
  fs.writeFileSync(path.join(gateDir, "open"), "");
  expect(await second.http.result(held)).toMatchObject({ status: "succeeded", result: "overlap" });
  await until("overlap idle", async () => (await schedules(second)).overlap.lastStatus === "succeeded");
  await second.advance("2026-05-01T16:00:00Z");
  const at16 = await until("16:00 overlap firing", async () => {
    const f = on(await second.firings(), "overlap");
    return f.length === 3 && f[2];
  });
  expect(at16).toEqual({ at: "2026-05-01T16:00:00.000Z", outcome: "called" });
  expect(callsOf("overlap")).toBe(2);
  const last = (await schedules(second)).overlap;
  expect(last).toMatchObject({ lastRun: "2026-05-01T16:00:00.000Z", skipped: 4 });
  expect(await second.http.result(last.lastCallId)).toMatchObject({ status: "succeeded", result: "overlap" });
}, 60_000);
