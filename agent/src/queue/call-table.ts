/**
 * The one module that moves an input between states. Every transition below is a single synchronous
 * step on the event loop (so it is atomic with respect to every other), and for spawned calls it
 * writes through to the Store in the same step:
 *
 *   enqueue ──▶ waiting ──lease──▶ active ──complete──▶ completed
 *                  ▲                  │
 *                  └──(delay)── delayed ◀──fail (retries left)
 *                                     └──fail (none left)──▶ failed
 *   cancel: waiting | delayed | active ──▶ cancelled
 *
 * Durability differs by kind, on purpose:
 * - `spawn`: the call is in SQLite (group-committed, fsynced) before the gateway answers 202, each
 *   attempt is recorded, and the result is stored for the result TTL. `active` is not persisted: after a
 *   crash every call that was not final is queued again, so an input that was running when the agent
 *   died runs again (at-least-once).
 * - `call` and `map`: the caller holds the HTTP connection and receives the result on it, so the input
 *   lives only in memory (no write, no fsync on the hot path). If the agent dies the caller's request
 *   fails and the caller decides whether to retry.
 *
 * Memory: a synchronous input holds its payload until it settles. A spawned call keeps its payload in
 * memory only when its lane's queue is short (< PAYLOAD_CACHE_QUEUE inputs, so it is dispatched
 * without reading the store); behind a longer queue it is an object of a few fields (its payload stays
 * in SQLite and is read when it is about to run), so 100,000 of them take tens of MB.
 */
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../clock";
import type { RemoteError } from "../errors";
import type { AttemptOutcome, AttemptRecord, Store, StoredCall } from "../store/store";
import type { Deque } from "./deque";

export type InputState = "waiting" | "active" | "delayed" | "completed" | "failed" | "cancelled";
export type ApiStatus = "pending" | "running" | "succeeded" | "failed" | "cancelled";

/** The per-function queue an input belongs to (implemented by the dispatcher's FunctionRuntime). */
export interface Lane {
  readonly key: string;
  readonly queue: Deque<Input>;
  /** Inputs waiting in `queue` (tombstones excluded). */
  queued: number;
  /** Inputs waiting out a retry delay. */
  delayed: number;
  /** Spawned calls not yet final. */
  pendingSpawns: number;
  maxRetries(): number;
  retryDelay(n: number): number;
  /** New work arrived: dispatch it. */
  wake(): void;
  /** The lane of the function's new version after a redeploy; inputs coming back from a retry delay go there. */
  replacedBy: Lane | null;
}

export type SettleListener = (input: Input) => void;

export class Input {
  state: InputState = "waiting";
  /** Attempts started so far. */
  attempt = 0;
  attempts: AttemptRecord[] | null = null;
  /** Result as JSON text. */
  result: string | null = null;
  error: RemoteError | null = null;
  timer: Timer | null = null;
  /** When it entered the queue last (for batching's waitMs). */
  enqueuedAt: number;
  finishedAt: number | null = null;
  private listeners: SettleListener[] | null = null;

  constructor(
    readonly id: string,
    public lane: Lane,
    readonly durable: boolean,
    /** `{"args":...,"kwargs":...}` JSON text; null while it rests in the store. */
    public payload: string | null,
    readonly createdAt: number,
  ) {
    this.enqueuedAt = createdAt;
  }

  get final(): boolean {
    return this.state === "completed" || this.state === "failed" || this.state === "cancelled";
  }

  get status(): ApiStatus {
    return apiStatus(this.state);
  }

  onSettle(listener: SettleListener): void {
    if (this.final) listener(this);
    else (this.listeners ??= []).push(listener);
  }

  offSettle(listener: SettleListener): void {
    if (this.listeners === null) return;
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /** @internal */
  notify(): void {
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners !== null) for (const l of listeners) l(this);
  }
}

export function apiStatus(state: InputState | StoredCall["state"]): ApiStatus {
  switch (state) {
    case "waiting":
    case "delayed":
      return "pending";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    default:
      return state;
  }
}

/**
 * Call ids: `fc-` + 64 random bits drawn once per process + a counter. Unique across restarts (the
 * random part differs) and cheap on the hot path (no random draw per call). Ids are not secrets: every
 * route that takes one requires the API token.
 */
const BOOT = randomBytes(8).toString("hex");
let sequence = 0;
export function newCallId(): string {
  return `fc-${BOOT}${(sequence++).toString(36).padStart(6, "0")}`;
}

/** Spawned calls enqueued behind fewer waiting inputs than this keep their payload in memory. */
export const PAYLOAD_CACHE_QUEUE = 10_000;

export interface CallTableEvents {
  /** An attempt failed and will be retried after `delayMs`. */
  retry?(input: Input, delayMs: number): void;
  settled?(input: Input): void;
}

export class CallTable {
  /** Inputs not yet final, plus final spawned ones until their result is durable. */
  private readonly live = new Map<string, Input>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly events: CallTableEvents = {},
  ) {}

  get size(): number {
    return this.live.size;
  }

  find(id: string): Input | undefined {
    return this.live.get(id);
  }

  /** A synchronous input (`call`, `map`): in memory only, queued at once. */
  enqueueSync(lane: Lane, payload: string): Input {
    const input = new Input(newCallId(), lane, false, payload, this.clock.now());
    this.live.set(input.id, input);
    this.pushWaiting(input);
    lane.wake();
    return input;
  }

  /** Spawned calls: durable first, then queued. Resolves with the inputs once the store has them. */
  async enqueueDurable(lane: Lane, payloads: readonly string[]): Promise<Input[]> {
    const now = this.clock.now();
    // A short queue: keep the payloads so that dispatch need not read them back from the store.
    const keep = lane.queued + payloads.length < PAYLOAD_CACHE_QUEUE;
    const inputs = payloads.map((p) => new Input(newCallId(), lane, true, keep ? p : null, now));
    lane.pendingSpawns += inputs.length;
    try {
      await this.store.enqueue(inputs.map((input, i) => ({ id: input.id, fn: lane.key, createdAt: now, payload: payloads[i] as string })));
    } catch (err) {
      lane.pendingSpawns -= inputs.length;
      throw err;
    }
    for (const input of inputs) {
      this.live.set(input.id, input);
      this.pushWaiting(input);
    }
    lane.wake();
    return inputs;
  }

  /** Recovery after a restart: a stored call that was not final is queued again. */
  restore(lane: Lane, id: string, createdAt: number, attempts: number): Input {
    const input = new Input(id, lane, true, null, createdAt);
    input.attempt = attempts;
    lane.pendingSpawns++;
    this.live.set(id, input);
    this.pushWaiting(input);
    return input;
  }

  /** A waiting input moves to the lane of a redeployed function (the caller took it off the old queue). */
  moveLane(input: Input, lane: Lane): void {
    if (input.durable) {
      input.lane.pendingSpawns--;
      lane.pendingSpawns++;
    }
    input.lane = lane;
    this.pushWaiting(input);
  }

  /** Takes the next waiting input of `lane` (FIFO), skipping cancelled ones, and makes it active. */
  lease(lane: Lane): Input | undefined {
    for (;;) {
      const input = lane.queue.shift();
      if (input === undefined) return undefined;
      if (input.state !== "waiting") continue; // tombstone of a cancelled input
      lane.queued--;
      input.state = "active";
      input.attempt++;
      return input;
    }
  }

  /** Loads the payload of a spawned call from the store when it is about to run. */
  async payloadOf(input: Input): Promise<string> {
    if (input.payload !== null) return input.payload;
    const payload = await this.store.payload(input.id);
    if (payload === undefined) throw new Error(`payload of ${input.id} is missing from the store`);
    return payload;
  }

  complete(input: Input, result: string, container: string, startedAt: number): void {
    if (input.state !== "active") return; // cancelled meanwhile
    const now = this.clock.now();
    const attempt: AttemptRecord = { n: input.attempt, container, startedAt, finishedAt: now, outcome: "succeeded" };
    this.record(input, attempt, true);
    input.result = result;
    this.settle(input, "completed", now, attempt);
  }

  /**
   * An attempt failed. With retries left the input waits `retryDelay(n)` and queues again; otherwise it
   * fails with `error`. `retryable: false` (a cancelled call, a protocol error) skips the retries.
   */
  fail(input: Input, error: RemoteError, outcome: AttemptOutcome, container: string, startedAt: number, retryable = true): void {
    if (input.state !== "active") return;
    const now = this.clock.now();
    const lane = input.lane;
    const retriesUsed = input.attempt - 1;
    const retry = retryable && retriesUsed < lane.maxRetries();
    const delay = retry ? lane.retryDelay(retriesUsed + 1) : undefined;
    const attempt: AttemptRecord = {
      n: input.attempt,
      container,
      startedAt,
      finishedAt: now,
      outcome,
      error: { type: error.type, message: error.message },
      ...(delay === undefined ? {} : { retryDelayMs: delay }),
    };
    this.record(input, attempt, delay === undefined);
    if (delay === undefined) {
      input.error = error;
      this.settle(input, "failed", now, attempt);
      return;
    }
    input.state = "delayed";
    lane.delayed++;
    this.events.retry?.(input, delay);
    input.timer = this.clock.setTimeout(() => {
      input.timer = null;
      if (input.state !== "delayed") return;
      lane.delayed--;
      let target: Lane = lane;
      while (target.replacedBy !== null) target = target.replacedBy;
      if (target !== lane) this.moveLane(input, target);
      else this.pushWaiting(input);
      target.wake();
    }, delay);
  }

  /** Fails a waiting input without running it (e.g. its containers cannot start). */
  failWaiting(input: Input, error: RemoteError): void {
    if (input.state !== "waiting") return;
    input.lane.queued--;
    input.error = error;
    this.settle(input, "failed", this.clock.now());
  }

  /** Cancels an input that is not final. Returns false when it already was. */
  cancel(input: Input): boolean {
    if (input.final) return false;
    const lane = input.lane;
    if (input.state === "waiting") lane.queued--;
    else if (input.state === "delayed") {
      lane.delayed--;
      input.timer?.cancel();
      input.timer = null;
    }
    // An active input keeps running in its container; its result is discarded.
    input.error = { type: "CallCancelled", message: "the call was cancelled" };
    this.settle(input, "cancelled", this.clock.now());
    return true;
  }

  private pushWaiting(input: Input): void {
    input.state = "waiting";
    input.enqueuedAt = this.clock.now();
    input.lane.queue.push(input);
    input.lane.queued++;
  }

  /** `last`: the call settles with this attempt, whose record then goes to the store with the call's finish. */
  private record(input: Input, attempt: AttemptRecord, last: boolean): void {
    if (input.durable) {
      if (!last) this.store.recordAttempt(input.id, attempt);
      (input.attempts ??= []).push(attempt);
    } else if (input.attempts !== null || attempt.outcome !== "succeeded") {
      // Synchronous inputs keep attempts only when something went wrong (cheap on the hot path).
      (input.attempts ??= []).push(attempt);
    }
  }

  private settle(input: Input, state: "completed" | "failed" | "cancelled", now: number, attempt: AttemptRecord | null = null): void {
    input.state = state;
    input.finishedAt = now;
    if (!input.durable) {
      input.payload = null;
      this.live.delete(input.id);
      input.notify();
      this.events.settled?.(input);
      return;
    }
    input.lane.pendingSpawns--;
    input.payload = null;
    input.notify();
    this.events.settled?.(input);
    // Keep it findable until the store has the result, so GET never sees a gap.
    this.store.finish(input.id, state, input.result, input.error, now, attempt).then(
      () => this.live.delete(input.id),
      () => this.live.delete(input.id),
    );
  }
}
