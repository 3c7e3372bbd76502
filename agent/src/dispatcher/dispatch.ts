/**
 * The dispatch of one function's inputs: it takes them from the function's lane (FIFO) and hands them
 * to ready containers — never more than `maxInputs` requests in flight per container, batches of up
 * to `maxBatchSize` sent when full or when the oldest input has waited `waitMs`, each attempt bounded
 * by `timeout` on the injected clock (a timed-out container is drained and killed).
 *
 * State transitions of inputs belong to the CallTable; what is in flight, to the function's Load; the
 * containers, to its ContainerPool. This class only decides who runs what, when, and reports it.
 */
import type { Clock, Timer } from "../clock";
import type { FunctionConfig } from "../config/function";
import type { Container } from "../containers/container";
import type { ContainerPool, StartFailure } from "../containers/pool";
import { ATTEMPT_ERRORS, type RemoteError } from "../errors";
import type { Load } from "../load/load";
import type { CallTable, Input, Lane } from "../queue/call-table";
import { parameterSet, remember } from "./affinity";
import { Attempt, type AttemptOwner } from "./attempt";
import type { WorkerOutput } from "./invoke";

export interface DispatchDeps {
  config: FunctionConfig;
  calls: CallTable;
  lane: Lane;
  pool: ContainerPool;
  load: Load<Container>;
  clock: Clock;
  /** Inputs wait and no container can take them: ask the autoscaler now, not on its next tick. */
  pressure(): void;
}

/** Consecutive failed starts after which the waiting inputs fail instead of waiting forever. */
export const START_FAILURE_LIMIT = 3;

export class InputDispatch implements AttemptOwner {
  readonly timeoutMs: number;
  private closed = false;
  private batchTimer: Timer | null = null;
  /** close() waiting for the inputs in flight to settle (agent shutdown with a drain). */
  private settledWaiters: Array<() => void> = [];
  private readonly config: FunctionConfig;
  private readonly calls: CallTable;
  private readonly lane: Lane;
  private readonly load: Load<Container>;
  private readonly clock: Clock;

  constructor(private readonly deps: DispatchDeps) {
    this.config = deps.config;
    this.timeoutMs = deps.config.timeoutMs;
    this.calls = deps.calls;
    this.lane = deps.lane;
    this.load = deps.load;
    this.clock = deps.clock;
  }

  /** Hands waiting inputs to containers with free slots, oldest input first. */
  pump(): void {
    const batch = this.config.batch;
    while (this.lane.queued > 0 && !this.closed) {
      // A class function's input goes where its parameter set is warm (affinity.ts); batches have none.
      const set = batch === null ? parameterSet(this.calls.oldestWaiting(this.lane)?.payload ?? null) : null;
      const container = this.pick(set);
      if (container === null) {
        if (this.deps.pool.live() < this.config.maxContainers) this.deps.pressure();
        return;
      }
      if (batch === null) {
        const input = this.calls.lease(this.lane);
        if (input === undefined) return;
        if (set !== null) remember(container, set);
        this.run(container, [input]);
        continue;
      }
      if (this.lane.queued < batch.maxBatchSize) {
        const oldest = this.calls.oldestWaiting(this.lane);
        if (oldest === undefined) return;
        const wait = oldest.enqueuedAt + batch.waitMs - this.clock.now();
        if (wait > 0) {
          this.batchTimer ??= this.clock.setTimeout(() => {
            this.batchTimer = null;
            this.flushBatch();
          }, wait);
          return;
        }
      }
      this.sendBatch(container, batch.maxBatchSize);
    }
  }

  /** waitMs has passed for the oldest input: send what is there. */
  private flushBatch(): void {
    const batch = this.config.batch;
    if (batch === null || this.closed) return;
    const container = this.pick();
    if (container === null || this.lane.queued === 0) return; // pump() runs again when a slot frees up
    this.sendBatch(container, batch.maxBatchSize);
    this.pump();
  }

  private sendBatch(container: Container, max: number): void {
    this.batchTimer?.cancel();
    this.batchTimer = null;
    const inputs: Input[] = [];
    while (inputs.length < max) {
      const input = this.calls.lease(this.lane);
      if (input === undefined) break;
      inputs.push(input);
    }
    if (inputs.length > 0) this.run(container, inputs);
  }

  /**
   * A ready container with a free slot. Packs inputs onto the oldest containers up to targetInputs,
   * then bursts to maxInputs on the least busy one, so that surplus containers go idle and can be
   * scaled down (spreading evenly would keep every container just busy enough never to be idle).
   * An input with a parameter set goes first to the least busy container that holds the set's
   * instance, up to maxInputs: a new instance (an `@enter`) costs far more than a busier container.
   */
  private pick(set: string | null = null): Container | null {
    const target = this.config.targetInputs;
    const max = this.config.maxInputs;
    if (set !== null) {
      let warm: Container | null = null;
      for (const c of this.deps.pool.containers) {
        if (c.phase === "ready" && c.requests < max && c.instances.includes(set) && (warm === null || c.requests < warm.requests)) warm = c;
      }
      if (warm !== null) return warm;
    }
    let burst: Container | null = null;
    for (const c of this.deps.pool.containers) {
      if (c.phase !== "ready") continue;
      if (c.requests < target) return c;
      if (c.requests < max && (burst === null || c.requests < burst.requests)) burst = c;
    }
    return burst;
  }

  private run(c: Container, inputs: Input[]): void {
    const n = inputs.length;
    c.requests++;
    this.load.inputs(c, n);
    const startedAt = this.clock.now();
    const attempt = new Attempt(this, c, inputs, startedAt);
    attempt.timer = this.clock.setTimeout(() => attempt.timeout(), this.config.timeoutMs);
    let needLoad = false;
    for (const input of inputs) if (input.payload === null) needLoad = true;
    if (!needLoad) {
      attempt.send(inputs.map((i) => i.payload as string));
      return;
    }
    Promise.all(inputs.map((i) => this.calls.payloadOf(i))).then(
      (payloads) => attempt.send(payloads),
      (err: Error) => attempt.crashed(err, false),
    );
  }

  /** @internal Attempt's: its request is over, however it ended. */
  release(c: Container, n: number): void {
    c.requests--;
    c.served += n;
    this.load.inputs(c, -n);
    if (this.load.inFlight <= 0 && this.settledWaiters.length > 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
    this.pump();
  }

  /** @internal Attempt's: the outputs of a finished request. */
  settle(c: Container, inputs: readonly Input[], outputs: WorkerOutput[], startedAt: number): void {
    const single = inputs.length === 1 && outputs.length === 1;
    const byId = single ? null : new Map(outputs.map((o) => [o.id, o]));
    for (const input of inputs) {
      const out = single ? (outputs[0] as WorkerOutput) : byId?.get(input.id);
      if (out === undefined || (single && out.id !== input.id)) {
        this.calls.fail(input, { type: ATTEMPT_ERRORS.protocol, message: `worker returned no output for input ${input.id}` }, "failed", c.id, startedAt, false);
      } else if (out.ok) {
        this.calls.complete(input, out.value === undefined ? "null" : JSON.stringify(out.value), c.id, startedAt);
      } else {
        const error: RemoteError = out.error ?? { type: "Error", message: "the handler failed without an error" };
        this.calls.fail(input, error, "failed", c.id, startedAt, error.type !== "BatchSizeMismatch");
      }
    }
  }

  /** @internal Attempt's. */
  failAll(inputs: readonly Input[], error: RemoteError, outcome: "timeout" | "crashed" | "failed", container: string, startedAt: number, retryable: boolean): void {
    for (const input of inputs) this.calls.fail(input, error, outcome, container, startedAt, retryable);
  }

  /** @internal Attempt's: a container that cannot be trusted any more is recycled. */
  drain(id: string, reason: string): void {
    this.deps.pool.drain(id, reason);
  }

  /**
   * The pool's: a start failed, the `failures`th in a row. From START_FAILURE_LIMIT on, the waiting
   * inputs fail with ContainerStartupError and the failed container's last output lines; at once
   * when the start would fail the same way again (`repeats`: an import error, `@enter` raising), with
   * the worker's traceback less the runtime's frames.
   */
  async startFailed(c: Container, message: string, failures: number, repeats: StartFailure | null = null): Promise<void> {
    if (this.lane.queued === 0) return;
    if (repeats !== null) {
      // It would fail the same way again: the waiting inputs get the worker's own error now.
      this.calls.failWaiting(this.lane, {
        type: ATTEMPT_ERRORS.startup,
        message: `${this.config.key} cannot start: ${message}`,
        ...(repeats.traceback === "" ? {} : { traceback: repeats.traceback }),
      });
      return;
    }
    if (failures < START_FAILURE_LIMIT) return;
    const tail = await this.deps.pool.logs(20).catch(() => []);
    const lines = tail.find((l) => l.container === c.id)?.lines ?? [];
    const error: RemoteError = {
      type: ATTEMPT_ERRORS.startup,
      message: `${failures} containers in a row failed to start; last: ${message}`,
      ...(lines.length > 0 ? { traceback: lines.join("\n") } : {}),
    };
    this.calls.failWaiting(this.lane, error);
  }

  /**
   * Sends nothing more. With `drainMs`, resolves once the inputs in flight have settled or `drainMs`
   * has passed, whichever is first, so that their results are recorded here: an agent that stops
   * without waiting leaves them running in their containers and unfinished in its store, and the next
   * agent runs them again. Waiting inputs stay queued (spawned ones are durable).
   */
  async close(drainMs = 0): Promise<void> {
    this.closed = true;
    this.batchTimer?.cancel();
    if (drainMs <= 0 || this.load.inFlight <= 0) return;
    let timer: Timer | null = null;
    await new Promise<void>((resolve) => {
      this.settledWaiters.push(resolve);
      timer = this.clock.setTimeout(resolve, drainMs);
    });
    (timer as Timer | null)?.cancel();
  }
}
