/**
 * Runs the schedules of the deployed apps. Each firing becomes one spawned call of the target function
 * (durable, through the same queue, retries and timeouts as `POST .../spawn`), with the schedule's
 * `args` and `kwargs`. Policies:
 *
 * - **Missed firings** (the agent was down when one fell due): `missed: runOnce` (default) makes one
 *   call on start however many were missed, for the latest of them; `skip` makes none. Either way the
 *   next firing is computed from the present, never replayed one by one. Every firing that fell due and
 *   made no call is counted in `skipped` (so calls + skipped = firings due).
 * - **Overlap** (a firing falls due while the schedule's previous call is not final, also across a
 *   restart: recovery re-queues that call first): `overlap: skip` (default) skips the firing and counts
 *   it in `skipped`; `allow` makes the call anyway.
 * - **Failures**: a firing never retries beyond the function's own `retries`; a failed call sets
 *   `lastError` and increments `consecutiveFailures` (reset by the next success), so a schedule that
 *   keeps failing shows in `warmpool schedules` and status but still fires only on its timetable.
 * - `suspended: true` keeps the schedule listed with its next run, but firing does nothing.
 *
 * Time comes from the agent's Clock, so tests step a ManualClock across days and DST changes.
 */
import type { Logger } from "pino";
import type { ResolvedScheduleSpec } from "@warmpool/schema";
import type { Clock, Timer } from "../clock";
import type { CallTable, Input, Lane } from "../queue/call-table";
import type { ScheduleState, Store } from "../store/store";
import { timingOf, type Timing } from "./timing";

/** Longest single timer (setTimeout's limit is 2^31 − 1 ms); a later firing re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SchedulerDeps {
  clock: Clock;
  log: Logger;
  calls: CallTable;
  /** Where schedule states are kept across restarts (the agent's Store: group-committed with the calls). */
  store: Pick<Store, "schedules" | "saveSchedule">;
  /** The lane of the deployed function, or undefined. */
  lookup(app: string, fn: string): Lane | undefined;
  maxPendingSpawns: number;
}

/** One firing, as the scheduler saw it (tests and logs). */
export interface Firing {
  key: string;
  /** The firing time it stood for (epoch ms). */
  at: number;
  /** When it was handled (epoch ms); later than `at` for a missed firing run on start. */
  now: number;
  outcome: "called" | "skipped-overlap" | "skipped-missed" | "suspended" | "error";
  callId?: string;
  error?: string;
}

interface Entry {
  key: string;
  spec: ResolvedScheduleSpec;
  timing: Timing;
  state: ScheduleState;
  timer: Timer | null;
  /** The last call while it is not final (or a firing whose enqueue is under way). */
  current: Input | "enqueueing" | null;
}

export interface ScheduleStatus {
  app: string;
  name: string;
  function: string;
  timing: string;
  suspended: boolean;
  missed: string;
  overlap: string;
  nextRun: string | null;
  lastRun: string | null;
  lastCallId: string | null;
  lastStatus: string | null;
  lastError: string | null;
  consecutiveFailures: number;
  skipped: number;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private started = false;
  private closed = false;
  /** Every firing handled, most recent last (bounded); for tests and diagnosis. */
  readonly firings: Firing[] = [];

  /** The states last saved, by key: read once at start, written through. */
  private readonly saved = new Map<string, ScheduleState>();

  constructor(private readonly deps: SchedulerDeps) {}

  /** Reads the states an earlier run saved; before the first sync. */
  async load(): Promise<void> {
    for (const stored of await this.deps.store.schedules()) this.saved.set(stored.key, { ...emptyState(stored.key), ...stored });
  }

  /** The schedules of `app` after a deploy: new ones are added, changed ones re-armed, removed ones stopped. */
  sync(app: string, specs: readonly ResolvedScheduleSpec[]): void {
    const keep = new Set<string>();
    for (const spec of specs) {
      const key = `${app}/${spec.name}`;
      keep.add(key);
      const old = this.entries.get(key);
      if (old !== undefined && JSON.stringify(old.spec) === JSON.stringify(spec)) continue;
      old?.timer?.cancel();
      const entry: Entry = { key, spec, timing: timingOf(spec), state: old?.state ?? this.stateOf(key), timer: null, current: old?.current ?? null };
      this.entries.set(key, entry);
      if (this.started) this.arm(entry, old === undefined);
    }
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${app}/`) && !keep.has(key)) {
        entry.timer?.cancel();
        this.entries.delete(key);
      }
    }
  }

  /** After recovery: handles the firings missed while the agent was down and arms every timer. */
  start(): void {
    this.started = true;
    for (const entry of this.entries.values()) this.arm(entry, true);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) entry.timer?.cancel();
  }

  private stateOf(key: string): ScheduleState {
    const saved = this.saved.get(key);
    return saved === undefined ? emptyState(key) : { ...saved };
  }

  /** Keeps `state` across restarts: in the store with the next group commit (a firing's call id is on disk within a turn of the event loop). */
  private save(state: ScheduleState): void {
    this.saved.set(state.key, { ...state });
    this.deps.store.saveSchedule(state).catch((err: Error) => {
      if (!this.closed) this.deps.log.warn({ event: "schedule.saveFailed", schedule: state.key, error: err.message }, "could not save the schedule's state");
    });
  }

  list(app?: string): ScheduleStatus[] {
    const out: ScheduleStatus[] = [];
    for (const e of this.entries.values()) {
      if (app !== undefined && e.spec.app !== app) continue;
      const s = e.state;
      const live = e.current !== null && e.current !== "enqueueing" ? e.current.status : null;
      out.push({
        app: e.spec.app,
        name: e.spec.name,
        function: e.spec.function,
        timing: e.timing.describe,
        suspended: e.spec.suspended,
        missed: e.spec.missed,
        overlap: e.spec.overlap,
        nextRun: iso(s.nextRun),
        lastRun: iso(s.lastRun),
        lastCallId: s.lastCallId,
        lastStatus: live ?? s.lastStatus,
        lastError: s.lastError,
        consecutiveFailures: s.consecutiveFailures,
        skipped: s.skipped,
      });
    }
    return out;
  }

  private arm(entry: Entry, recovering: boolean): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    const s = entry.state;
    if (recovering) {
      this.adopt(entry);
      if (s.nextRun !== null && s.nextRun <= now) {
        const { count, latest } = missedFirings(entry.timing, s.nextRun, now);
        const runOnce = entry.spec.missed !== "skip";
        s.skipped += runOnce ? count - 1 : count;
        if (runOnce) this.fire(entry, latest);
        else this.record(entry, { key: entry.key, at: latest, now, outcome: "skipped-missed" });
      }
    }
    s.nextRun = entry.timing.next(now);
    this.save(s);
    this.setTimer(entry);
  }

  /** After a restart, the last call (re-queued by recovery if it was not final) is the one overlap watches. */
  private adopt(entry: Entry): void {
    const id = entry.state.lastCallId;
    if (id === null || entry.current !== null) return;
    const input = this.deps.calls.find(id);
    if (input !== undefined && !input.final) this.watch(entry, input);
  }

  private setTimer(entry: Entry): void {
    entry.timer?.cancel();
    entry.timer = null;
    const next = entry.state.nextRun;
    if (next === null || this.closed) return;
    const delay = Math.min(next - this.deps.clock.now(), MAX_TIMER_MS);
    entry.timer = this.deps.clock.setTimeout(() => this.due(entry), delay);
  }

  private due(entry: Entry): void {
    entry.timer = null;
    if (this.closed || this.entries.get(entry.key) !== entry) return;
    const now = this.deps.clock.now();
    const at = entry.state.nextRun;
    if (at === null) return;
    if (now < at) return this.setTimer(entry); // a long wait cut into pieces
    this.fire(entry, at);
    entry.state.nextRun = entry.timing.next(Math.max(now, at));
    this.save(entry.state);
    this.setTimer(entry);
  }

  private fire(entry: Entry, at: number): void {
    const now = this.deps.clock.now();
    const spec = entry.spec;
    if (spec.suspended === true) return this.record(entry, { key: entry.key, at, now, outcome: "suspended" });
    if (spec.overlap !== "allow" && entry.current !== null) {
      entry.state.skipped++;
      this.save(entry.state);
      return this.record(entry, { key: entry.key, at, now, outcome: "skipped-overlap" });
    }
    const fn = this.deps.lookup(spec.app, spec.function);
    const failed = (message: string): void => {
      entry.state.lastError = message;
      entry.state.lastStatus = "failed";
      entry.state.consecutiveFailures++;
      this.save(entry.state);
      this.record(entry, { key: entry.key, at, now, outcome: "error", error: message });
    };
    if (fn === undefined) return failed(`function ${spec.app}/${spec.function} is not deployed`);
    if (fn.pendingSpawns >= this.deps.maxPendingSpawns) return failed(`function ${fn.key} already has ${fn.pendingSpawns} pending spawned calls`);
    const payload = JSON.stringify({ args: spec.args, kwargs: spec.kwargs });
    if (entry.current === null) entry.current = "enqueueing";
    this.deps.calls.enqueueDurable(fn, [payload]).then(
      ([input]) => {
        const call = input as Input;
        if (entry.current === "enqueueing") entry.current = null;
        entry.state.lastRun = at;
        entry.state.lastCallId = call.id;
        entry.state.lastStatus = "pending";
        this.save(entry.state);
        this.record(entry, { key: entry.key, at, now, outcome: "called", callId: call.id });
        this.watch(entry, call);
      },
      (err: Error) => {
        if (entry.current === "enqueueing") entry.current = null;
        failed(`could not enqueue the call: ${err.message}`);
      },
    );
  }

  private watch(entry: Entry, input: Input): void {
    entry.current = input;
    input.onSettle((done) => {
      if (entry.current === done) entry.current = null;
      if (entry.state.lastCallId !== done.id) return;
      const s = entry.state;
      if (done.state === "completed") {
        s.lastStatus = "succeeded";
        s.lastError = null;
        s.consecutiveFailures = 0;
      } else {
        s.lastStatus = done.state === "failed" ? "failed" : "cancelled";
        s.lastError = done.error === null ? done.state : `${done.error.type}: ${done.error.message}`;
        s.consecutiveFailures++;
        this.deps.log.warn({ event: "schedule.failed", schedule: entry.key, call: done.id, failures: s.consecutiveFailures, error: s.lastError }, "scheduled call failed");
      }
      this.save(s);
    });
  }

  private record(entry: Entry, firing: Firing): void {
    this.firings.push(firing);
    if (this.firings.length > 1000) this.firings.shift();
    this.deps.log.info(
      { event: "schedule.fired", schedule: entry.key, at: new Date(firing.at).toISOString(), outcome: firing.outcome, call: firing.callId, error: firing.error },
      `schedule ${entry.key}: ${firing.outcome}`,
    );
  }
}

function emptyState(key: string): ScheduleState {
  return { key, lastRun: null, nextRun: null, lastCallId: null, lastStatus: null, lastError: null, consecutiveFailures: 0, skipped: 0 };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Beyond this many missed firings (an every-minute schedule down for months) the count stops: it is a statistic. */
const MISSED_SCAN_LIMIT = 100_000;

/** The firings due from `first` (the stored next run) up to `now`: how many, and the latest. */
function missedFirings(timing: Timing, first: number, now: number): { count: number; latest: number } {
  let count = 0;
  let latest = first;
  for (let t: number | null = first; t !== null && t <= now && count < MISSED_SCAN_LIMIT; t = timing.next(t)) {
    count++;
    latest = t;
  }
  return { count, latest };
}
