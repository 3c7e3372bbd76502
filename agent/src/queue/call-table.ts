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
import type { Clock } from "../clock";
import type { RemoteError } from "../errors";
import type { AttemptOutcome, AttemptRecord, Store } from "../store/store";
import { Deque } from "./deque";
import { RETRY_BUDGET_EXHAUSTED } from "./retry-budget";
import { Input, newCallId, type Lane } from "./input";

export { apiStatus, Input, newCallId, type ApiStatus, type InputState, type Lane, type SettleListener } from "./input";

/** What a lane is told of its function when it is opened. */
export interface LanePolicy {
  maxRetries: number;
  /** Delay before retry `n` (from 1), in ms. */
  retryDelay(n: number): number;
  /** New work arrived: dispatch it. */
  wake(): void;
  /**
   * An attempt ended (succeeded, failed, timed out), before its input settles or waits to retry;
   * `input.enqueuedAt` is still when this attempt entered the queue.
   */
  attempted?(input: Input, attempt: AttemptRecord): void;
  /** An input of this lane reached a final state; `attempt`: its last attempt, null when it never ran. */
  settled?(input: Input, attempt: AttemptRecord | null): void;
  /** The function's retry budget and breaker (issue 15); absent: every declared retry runs. */
  guards?: LaneGuards;
}

/**
 * What the call table tells a function's guards (retry-budget.ts, breaker.ts) and asks them, at the
 * transitions it alone makes: a first attempt leased, an attempt ended, a retry wanted.
 */
export interface LaneGuards {
  firstAttempt(): void;
  /** An attempt ended (a cancelled one is not reported). */
  ended(ok: boolean): void;
  /** May a failed input with declared retries left be retried? false: it fails now, with RETRY_BUDGET_EXHAUSTED. */
  retry(): boolean;
}

/** A lane as the call table writes it. */
interface LaneState {
  key: string;
  /** FIFO; cancelled inputs stay as tombstones until they reach the head (cancel is O(1)). */
  queue: Deque<Input>;
  queued: number;
  delayed: number;
  pendingSpawns: number;
  arrived: number;
  replacedBy: LaneState | null;
  policy: LanePolicy;
}

/** Every Lane is a LaneState this table opened: its view with the counts it alone writes. */
const mutable = (lane: Lane): LaneState => lane as LaneState;

/** The payload of an invocation without arguments. */
const EMPTY_PAYLOAD = '{"args":[],"kwargs":{}}';

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
  /** Idempotency keys being resolved (looked up, or their call being stored), so that two requests with one key make one call. */
  private readonly resolving = new Map<string, Promise<{ id: string; existing: boolean }>>();

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

  /** A new, empty lane for a deployed function. */
  openLane(key: string, policy: LanePolicy): Lane {
    const lane: LaneState = { key, queue: new Deque<Input>(), queued: 0, delayed: 0, pendingSpawns: 0, arrived: 0, replacedBy: null, policy };
    return lane;
  }

  /** A synchronous input (`call`, `map`): in memory only, queued at once. `parent`: the running call that made it. */
  enqueueSync(lane: Lane, payload: string, parent: Input | null = null): Input {
    const input = new Input(newCallId(), lane, false, payload, this.clock.now());
    if (parent !== null) this.adopt(parent, input);
    this.live.set(input.id, input);
    this.pushWaiting(input);
    mutable(lane).arrived++;
    // A map whose parent was cancelled while it streamed: its later inputs never run either.
    if (parent !== null && parent.state === "cancelled") this.cancel(input);
    else mutable(lane).policy.wake();
    return input;
  }

  /** Spawned calls: durable first, then queued. Resolves with the inputs once the store has them. */
  async enqueueDurable(lane: Lane, payloads: readonly string[], parent: Input | null = null, idempotencyKey?: string): Promise<Input[]> {
    if (idempotencyKey !== undefined && payloads.length !== 1) throw new Error(`an idempotency key names one call, not ${payloads.length}`);
    const l = mutable(lane);
    const now = this.clock.now();
    // A short queue: keep the payloads so that dispatch need not read them back from the store.
    const keep = lane.queued + payloads.length < PAYLOAD_CACHE_QUEUE;
    const inputs = payloads.map((p) => new Input(newCallId(), lane, true, keep ? p : null, now));
    l.pendingSpawns += inputs.length;
    const parentId = parent === null ? {} : { parent: parent.id };
    try {
      const rows = inputs.map((input, i) => ({ id: input.id, fn: lane.key, createdAt: now, payload: payloads[i] as string, ...parentId }));
      await (idempotencyKey === undefined ? this.store.enqueue(rows) : this.store.enqueueKeyed(rows[0] as (typeof rows)[number], idempotencyKey));
    } catch (err) {
      l.pendingSpawns -= inputs.length;
      throw err;
    }
    for (const input of inputs) {
      if (parent !== null) this.adopt(parent, input);
      this.live.set(input.id, input);
      this.pushWaiting(input);
    }
    l.arrived += inputs.length;
    // The parent was cancelled while the children were being stored: they go the way it went.
    if (parent !== null && parent.state === "cancelled") for (const input of inputs) this.cancel(input);
    l.policy.wake();
    return inputs;
  }

  /**
   * A call with an idempotency key: the call already made with `key` on this function (while it is
   * stored: the result TTL), or a new durable one made with it. Resolves with its id, and whether it
   * existed. A key is per function; a second request with the key gets the first call, whatever its
   * arguments.
   */
  enqueueKeyed(lane: Lane, payload: string, key: string, parent: Input | null = null): Promise<{ id: string; existing: boolean }> {
    const k = `${lane.key}\n${key}`;
    const pending = this.resolving.get(k);
    if (pending !== undefined) return pending.then((r) => ({ id: r.id, existing: true }));
    const work = (async () => {
      const found = await this.store.callForKey(lane.key, key);
      if (found !== undefined) return { id: found, existing: true };
      const [input] = await this.enqueueDurable(lane, [payload], parent, key);
      return { id: (input as Input).id, existing: false };
    })();
    this.resolving.set(k, work);
    // Once resolved the store has the key: later requests find it there.
    const done = (): void => void this.resolving.delete(k);
    work.then(done, done);
    return work;
  }

  /**
   * A synchronous input whose caller was sent to poll for it (a function endpoint past its syncTimeout:
   * 303 to `/v1/calls/{id}`): stored now, as pending, and its outcome stored when it settles.
   */
  async keep(input: Input): Promise<void> {
    await this.store.enqueue([{ id: input.id, fn: input.lane.key, createdAt: input.createdAt, payload: input.payload ?? EMPTY_PAYLOAD }]);
    input.onSettle((done) => {
      void this.store.finish(done.id, done.state as "completed" | "failed" | "cancelled", done.result, done.error, done.finishedAt ?? this.clock.now()).catch(() => undefined);
    });
  }

  /** Recovery after a restart: a stored call that was not final is queued again. */
  restore(lane: Lane, id: string, createdAt: number, attempts: number): Input {
    const input = new Input(id, lane, true, null, createdAt);
    input.attempt = attempts;
    mutable(lane).pendingSpawns++;
    this.live.set(id, input);
    this.pushWaiting(input);
    return input;
  }

  /**
   * A redeployed function's lane takes over the inputs still waiting in the old one, in order; inputs
   * of the old lane coming back from a retry delay later go to the new one too.
   */
  handOver(from: Lane, to: Lane): void {
    const old = mutable(from);
    old.replacedBy = mutable(to);
    for (;;) {
      const input = old.queue.shift();
      if (input === undefined) break;
      if (input.state !== "waiting") continue;
      old.queued--;
      this.moveLane(input, to);
    }
  }

  /** Takes the next waiting input of `lane` (FIFO), skipping cancelled ones, and makes it active. */
  lease(lane: Lane): Input | undefined {
    const l = mutable(lane);
    for (;;) {
      const input = l.queue.shift();
      if (input === undefined) return undefined;
      if (input.state !== "waiting") continue; // tombstone of a cancelled input
      l.queued--;
      input.state = "active";
      input.attempt++;
      if (input.attempt === 1) l.policy.guards?.firstAttempt();
      return input;
    }
  }

  /** The input that has waited longest in `lane` (batching's waitMs is counted from it), dropping cancelled ones off the head. */
  oldestWaiting(lane: Lane): Input | undefined {
    const l = mutable(lane);
    for (;;) {
      const head = l.queue.peek();
      if (head === undefined || head.state === "waiting") return head;
      l.queue.shift();
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
    mutable(input.lane).policy.guards?.ended(true);
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
    const lane = mutable(input.lane);
    const retriesUsed = input.attempt - 1;
    const guards = lane.policy.guards;
    if (outcome !== "cancelled") guards?.ended(false);
    const declared = retryable && retriesUsed < lane.policy.maxRetries;
    // The budget is asked only when a declared retry is left, so it is spent only on retries that would run.
    const retry = declared && (guards === undefined || guards.retry());
    const delay = retry ? lane.policy.retryDelay(retriesUsed + 1) : undefined;
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
      input.error = declared ? { ...error, reason: RETRY_BUDGET_EXHAUSTED } : error;
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
      let target: LaneState = lane;
      while (target.replacedBy !== null) target = target.replacedBy;
      if (target !== lane) this.moveLane(input, target);
      else this.pushWaiting(input);
      target.policy.wake();
    }, delay);
  }

  /** Fails every input waiting in `lane` without running it (its containers cannot start, its function was removed). */
  failWaiting(lane: Lane, error: RemoteError): void {
    for (const input of [...mutable(lane).queue]) {
      if (input.state !== "waiting") continue;
      mutable(input.lane).queued--;
      input.error = error;
      this.settle(input, "failed", this.clock.now());
    }
  }

  /** Cancels an input that is not final. Returns false when it already was. */
  cancel(input: Input): boolean {
    if (input.final) return false;
    const lane = mutable(input.lane);
    if (input.state === "waiting") lane.queued--;
    else if (input.state === "delayed") {
      lane.delayed--;
      input.timer?.cancel();
      input.timer = null;
    }
    // An active input keeps running in its container; its result is discarded.
    input.error = { type: "CallCancelled", message: "the call was cancelled" };
    this.settle(input, "cancelled", this.clock.now());
    // Calls made from inside it are cancelled with it (those already final are not in `live`).
    if (input.children !== null) {
      for (const id of input.children) {
        const child = this.live.get(id);
        if (child !== undefined) this.cancel(child);
      }
    }
    return true;
  }

  /** Records `child` as made from inside `parent` (both ways; the parent's list in the store too when it is durable). */
  private adopt(parent: Input, child: Input): void {
    child.parent = parent.id;
    (parent.children ??= []).push(child.id);
    if (parent.durable) this.store.recordChildren(parent.id, parent.children);
  }

  /** A waiting input moves to the lane of a redeployed function (taken off the old queue by the caller). */
  private moveLane(input: Input, lane: Lane): void {
    if (input.durable) {
      mutable(input.lane).pendingSpawns--;
      mutable(lane).pendingSpawns++;
    }
    input.lane = lane;
    this.pushWaiting(input);
  }

  private pushWaiting(input: Input): void {
    const lane = mutable(input.lane);
    input.state = "waiting";
    input.enqueuedAt = this.clock.now();
    lane.queue.push(input);
    lane.queued++;
  }

  /** `last`: the call settles with this attempt, whose record then goes to the store with the call's finish. */
  private record(input: Input, attempt: AttemptRecord, last: boolean): void {
    mutable(input.lane).policy.attempted?.(input, attempt);
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
    const lane = mutable(input.lane);
    if (!input.durable) {
      input.payload = null;
      this.live.delete(input.id);
      input.notify();
      lane.policy.settled?.(input, attempt);
      this.events.settled?.(input);
      return;
    }
    lane.pendingSpawns--;
    input.payload = null;
    input.notify();
    lane.policy.settled?.(input, attempt);
    this.events.settled?.(input);
    // Keep it findable until the store has the result, so GET never sees a gap.
    this.store.finish(input.id, state, input.result, input.error, now, attempt).then(
      () => this.live.delete(input.id),
      () => this.live.delete(input.id),
    );
  }
}
