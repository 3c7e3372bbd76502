/**
 * The durable side of the agent: spawned calls, their attempts and results, the apps deployed over
 * the API, what the scheduler remembers of each schedule, and Dicts and Queues (collections.ts). Every durable write of the agent goes
 * through this interface. The interface is asynchronous and row-oriented so that a PostgreSQL implementation can fill
 * it later; the SQLite one (sqlite.ts) is the embedded default.
 *
 * What is durable: a spawned call from the moment `enqueue` resolves (the gateway answers 202 only
 * then), each attempt, and the final result. Synchronous `call`/`map` inputs never reach the store: the
 * caller holds the connection and sees a failure if the agent dies (see queue/call-table.ts).
 */
import type { RemoteError } from "../errors";
import type { CollectionStore } from "./collections";

/** BullMQ's vocabulary. A stored call is `waiting` until it reaches a final state. */
export type StoredState = "waiting" | "completed" | "failed" | "cancelled";

export interface NewCall {
  id: string;
  /** `app/fn`. */
  fn: string;
  createdAt: number;
  /** `{"args":[...],"kwargs":{...}}` as JSON text. */
  payload: string;
  /** The call it was made from inside of. */
  parent?: string;
}

export type AttemptOutcome = "succeeded" | "failed" | "timeout" | "crashed" | "cancelled";

export interface AttemptRecord {
  /** 1 for the first attempt. */
  n: number;
  container: string;
  startedAt: number;
  finishedAt: number;
  outcome: AttemptOutcome;
  error?: { type: string; message: string };
  /** Delay before the next attempt, when one follows. */
  retryDelayMs?: number;
}

export interface StoredCall {
  id: string;
  fn: string;
  state: StoredState;
  createdAt: number;
  finishedAt: number | null;
  /** The result as JSON text. */
  result: string | null;
  error: RemoteError | null;
  attempts: AttemptRecord[];
  /** The call it was made from inside of, and the calls made from inside it. */
  parent: string | null;
  children: string[];
}

export interface UnfinishedCall {
  id: string;
  fn: string;
  createdAt: number;
  attempts: number;
}

export interface StoredApp {
  name: string;
  /** The App document as deployed (JSON). */
  doc: unknown;
  appDir: string;
}

export type LastStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "skipped";

/** What the agent remembers of one schedule across restarts (schedules/scheduler.ts). */
export interface ScheduleState {
  /** `app/name`. */
  key: string;
  /** Epoch ms of the last firing that made a call. */
  lastRun: number | null;
  /** Epoch ms of the next firing as computed when the agent last ran; a past value after a restart is a missed firing. */
  nextRun: number | null;
  lastCallId: string | null;
  lastStatus: LastStatus | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** Firings skipped because the previous run was still going (overlap: skip) or missed while down (missed: skip). */
  skipped: number;
}

export interface Store {
  /** Persists new calls; resolves once they are durable. */
  enqueue(calls: readonly NewCall[]): Promise<void>;
  payload(id: string): Promise<string | undefined>;
  /** Records an attempt; committed with the next group (at the latest with the call's finish). */
  recordAttempt(callId: string, attempt: AttemptRecord): void;
  /**
   * Moves a call to its final state; resolves once durable. `attempt`, when given, is the attempt that
   * ended the call, recorded in the same write (as if by `recordAttempt`).
   */
  finish(callId: string, state: Exclude<StoredState, "waiting">, result: string | null, error: RemoteError | null, finishedAt: number, attempt?: AttemptRecord | null): Promise<void>;
  get(id: string): Promise<StoredCall | undefined>;
  /** Replaces the list of calls made from inside `callId`; committed with the next group. */
  recordChildren(callId: string, children: readonly string[]): void;
  /** Every call not yet final, oldest first: what recovery re-queues after a restart. */
  unfinished(): Promise<UnfinishedCall[]>;
  /** Deletes final calls that finished before `before`; returns how many. */
  sweep(before: number): Promise<number>;
  saveApp(app: StoredApp): Promise<void>;
  deleteApp(name: string): Promise<void>;
  apps(): Promise<StoredApp[]>;
  /** Stores a schedule's state (replacing what was there); committed with the next group. */
  saveSchedule(state: ScheduleState): Promise<void>;
  /** Every stored schedule state; fields stored by an older agent that are missing come back absent. */
  schedules(): Promise<Array<Partial<ScheduleState> & { key: string }>>;
  /** Dicts and Queues (collections.ts). */
  readonly collections: CollectionStore;
  /** Persists a call with its idempotency key (per function), both in one durable write. */
  enqueueKeyed(call: NewCall, key: string): Promise<void>;
  /** The call made with `key` on `fn`, while that call is stored (the key's TTL is its call's). */
  callForKey(fn: string, key: string): Promise<string | undefined>;
  close(): Promise<void>;
}
