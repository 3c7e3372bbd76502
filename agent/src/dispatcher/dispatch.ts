/**
 * One deployed function at run time: its FIFO of inputs, its containers, and the dispatch loop that
 * hands inputs to containers — never more than `maxInputs` requests in flight per container, batches of
 * up to `maxBatchSize` sent when full or when the oldest input has waited `waitMs`, each attempt bounded
 * by `timeout` on the injected clock (a timed-out container is drained and killed).
 *
 * State transitions of inputs belong to CallTable; this class only decides who runs what, when. How
 * many containers there should be is the autoscaler's decision (autoscaler/runner.ts), which this class
 * carries out through the Backend.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Backend } from "../backends/backend";
import type { Clock, Timer } from "../clock";
import { retryDelayMs, scaleConfig, type FunctionConfig } from "../config/function";
import { ATTEMPT_ERRORS, type RemoteError } from "../errors";
import type { ContainerObservation, Decision, Observation, ScaleConfig } from "../autoscaler/decide";
import { Deque } from "../queue/deque";
import type { CallTable, Input, Lane } from "../queue/call-table";
import { Container } from "../containers/container";
import { Attempt } from "./attempt";
import { newPool, type WorkerOutput } from "./invoke";

export interface FunctionDeps {
  calls: CallTable;
  backend: Backend;
  clock: Clock;
  log: Logger;
  /** Inputs wait and no container can take them: ask the autoscaler now, not on its next tick. */
  pressure(fn: FunctionRuntime): void;
  /** A container became ready or exited: the autoscaler may want to act. */
  changed(fn: FunctionRuntime): void;
  /** A container starts draining, before its inFlight is read to decide whether it may stop now. */
  draining?(fn: FunctionRuntime, c: Container): void;
}

export interface ScaleEvent {
  at: string;
  desired: number;
  start: number;
  stop: string[];
  reason: string;
}

const NOOP = { inc(): void {} };

/** Consecutive start failures after which the queued inputs fail instead of waiting forever. */
const START_FAILURE_LIMIT = 3;

export class FunctionRuntime implements Lane {
  readonly key: string;
  readonly queue = new Deque<Input>();
  queued = 0;
  delayed = 0;
  pendingSpawns = 0;
  inFlight = 0;
  readonly containers: Container[] = [];
  readonly scale: ScaleConfig;
  desired = 0;
  lastScaleReason: string | null = null;
  lastScaleTime: number | null = null;
  readonly events: ScaleEvent[] = [];
  startFailures = 0;
  startBlockedUntil = 0;
  lastStartError: string | null = null;
  closed = false;
  replacedBy: FunctionRuntime | null = null;
  /** Counters of settled inputs: succeeded, failed, cancelled (metrics children, set at deploy). */
  outcomes: Array<{ inc(): void }> = [NOOP, NOOP, NOOP];
  private batchTimer: Timer | null = null;
  /** close() waiting for the inputs in flight to settle (agent shutdown with a drain). */
  private settledWaiters: Array<() => void> = [];
  private readonly calls: CallTable;
  private readonly clock: Clock;

  constructor(
    readonly config: FunctionConfig,
    private readonly deps: FunctionDeps,
  ) {
    this.key = config.key;
    this.calls = deps.calls;
    this.clock = deps.clock;
    this.scale = scaleConfig(config);
  }

  maxRetries(): number {
    return this.config.retries.maxRetries;
  }

  retryDelay(n: number): number {
    return retryDelayMs(this.config.retries, n);
  }

  wake(): void {
    this.pump();
  }

  liveContainers(): number {
    let n = 0;
    for (const c of this.containers) if (c.live) n++;
    return n;
  }

  observe(): Observation {
    const containers: ContainerObservation[] = [];
    for (const c of this.containers) {
      if (c.phase === "starting" || c.phase === "ready") containers.push({ id: c.id, state: c.phase, inFlight: c.inFlight, idleSince: c.idleSince });
    }
    return { queued: this.queued + this.delayed, inFlight: this.inFlight, containers };
  }

  recordDecision(d: Decision, acted: boolean): void {
    this.desired = d.desired;
    if (!acted) return;
    const now = this.clock.now();
    this.lastScaleReason = d.reason;
    this.lastScaleTime = now;
    this.events.push({ at: new Date(now).toISOString(), desired: d.desired, start: d.start, stop: d.stop, reason: d.reason });
    if (this.events.length > 50) this.events.shift();
  }

  /** Hands waiting inputs to containers with free slots, oldest input first. */
  pump(): void {
    const batch = this.config.batch;
    while (this.queued > 0 && !this.closed) {
      const container = this.pick();
      if (container === null) {
        if (this.liveContainers() < this.config.maxContainers) this.deps.pressure(this);
        return;
      }
      if (batch === null) {
        const input = this.calls.lease(this);
        if (input === undefined) return;
        this.run(container, [input]);
        continue;
      }
      if (this.queued < batch.maxBatchSize) {
        const oldest = this.oldestWaiting();
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
    if (container === null || this.queued === 0) return; // pump() runs again when a slot frees up
    this.sendBatch(container, batch.maxBatchSize);
    this.pump();
  }

  private sendBatch(container: Container, max: number): void {
    this.batchTimer?.cancel();
    this.batchTimer = null;
    const inputs: Input[] = [];
    while (inputs.length < max) {
      const input = this.calls.lease(this);
      if (input === undefined) break;
      inputs.push(input);
    }
    if (inputs.length > 0) this.run(container, inputs);
  }

  private oldestWaiting(): Input | undefined {
    for (;;) {
      const head = this.queue.peek();
      if (head === undefined || head.state === "waiting") return head;
      this.queue.shift();
    }
  }

  /**
   * A ready container with a free slot. Packs inputs onto the oldest containers up to targetInputs,
   * then bursts to maxInputs on the least busy one, so that surplus containers go idle and can be
   * scaled down (spreading evenly would keep every container just busy enough never to be idle).
   */
  private pick(): Container | null {
    const target = this.config.targetInputs;
    const max = this.config.maxInputs;
    let burst: Container | null = null;
    for (const c of this.containers) {
      if (c.phase !== "ready") continue;
      if (c.requests < target) return c;
      if (c.requests < max && (burst === null || c.requests < burst.requests)) burst = c;
    }
    return burst;
  }

  private run(c: Container, inputs: Input[]): void {
    const n = inputs.length;
    c.inFlight += n;
    c.requests++;
    c.idleSince = null;
    this.inFlight += n;
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

  /** @internal Called by Attempt when its request is over, however it ended. */
  release(c: Container, n: number): void {
    c.inFlight -= n;
    c.requests--;
    c.served += n;
    this.inFlight -= n;
    if (c.inFlight === 0) {
      c.idleSince = this.clock.now();
      if (c.phase === "draining") this.stopContainer(c, c.stopReason === "timeout" ? 0 : this.config.timeoutMs);
    }
    if (this.inFlight <= 0 && this.settledWaiters.length > 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
    this.pump();
  }

  /**
   * Requests a proxy has in flight on `c` (web-server endpoints) changed by `delta`. They count as
   * inputs in flight, so the autoscaler scales on them and a draining container stops only after them.
   */
  proxied(c: Container, delta: number): void {
    this.inFlight += delta;
    this.hold(c, delta);
  }

  /** Keeps `c` busy (`delta` > 0) or lets it go, without counting load on the function: a draining container waits for it. */
  hold(c: Container, delta: number): void {
    c.inFlight += delta;
    if (delta > 0) c.idleSince = null;
    else if (c.inFlight === 0) {
      c.idleSince = this.clock.now();
      if (c.phase === "draining") this.stopContainer(c, c.stopReason === "timeout" ? 0 : this.config.timeoutMs);
    }
  }

  /** @internal The outputs of a finished request. */
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

  /** @internal */
  failAll(inputs: readonly Input[], error: RemoteError, outcome: "timeout" | "crashed" | "failed", container: string, startedAt: number, retryable: boolean): void {
    for (const input of inputs) this.calls.fail(input, error, outcome, container, startedAt, retryable);
  }

  /** Starts one container and makes it ready; on failure backs off and, after repeated failures, fails the queue. */
  async startContainer(): Promise<void> {
    const c = new Container(`${this.config.name}-${randomBytes(4).toString("hex")}`, this.clock.now());
    this.containers.push(c);
    const log = this.deps.log;
    const t0 = performance.now();
    try {
      const handle = await this.deps.backend.start(this.config, c.id);
      c.handle = handle;
      const spawned = performance.now();
      void handle.exited.then((how) => this.exited(c, how));
      await this.deps.backend.ready(handle, this.config.startupTimeoutMs);
      if (c.phase !== "starting") return;
      c.pool = newPool(handle.host, handle.port, this.config.maxInputs);
      c.phase = "ready";
      c.readyAt = this.clock.now();
      c.idleSince = c.readyAt;
      this.startFailures = 0;
      log.info({ event: "container.ready", fn: this.key, container: c.id, ref: handle.ref, startMs: round(spawned - t0), readyMs: round(performance.now() - spawned) }, "container ready");
      this.deps.changed(this);
      this.pump();
    } catch (err) {
      const message = (err as Error).message;
      c.phase = "failed";
      c.exit = message;
      this.remove(c);
      if (c.handle !== null) void this.deps.backend.stop(c.handle, 0);
      this.startFailures++;
      const backoff = Math.min(1000 * 2 ** (this.startFailures - 1), 30_000);
      this.startBlockedUntil = this.clock.now() + backoff;
      this.lastStartError = message;
      log.warn({ event: "container.startFailed", fn: this.key, container: c.id, failures: this.startFailures, backoffMs: backoff, error: message }, "container failed to start");
      if (this.startFailures >= START_FAILURE_LIMIT && this.queued > 0) await this.failQueue(c.id, message);
      this.deps.changed(this);
    }
  }

  private async failQueue(containerId: string, message: string): Promise<void> {
    const tail = await this.deps.backend.logs(this.key, 20).catch(() => []);
    const lines = tail.find((l) => l.container === containerId)?.lines ?? [];
    const error: RemoteError = {
      type: ATTEMPT_ERRORS.startup,
      message: `${this.startFailures} containers in a row failed to start; last: ${message}`,
      ...(lines.length > 0 ? { traceback: lines.join("\n") } : {}),
    };
    for (const input of [...this.queue]) this.calls.failWaiting(input, error);
  }

  /** Stops sending to a container and stops it once its inputs are done. */
  drain(id: string, reason: string): boolean {
    const c = this.containers.find((x) => x.id === id);
    if (c === undefined || !c.live) return false;
    c.phase = "draining";
    c.stopReason = reason;
    this.deps.draining?.(this, c);
    if (c.inFlight === 0) this.stopContainer(c, reason === "timeout" ? 0 : this.config.timeoutMs);
    return true;
  }

  private stopContainer(c: Container, graceMs: number): void {
    if (c.handle === null) return;
    void c.pool?.close().catch(() => undefined);
    void this.deps.backend.stop(c.handle, graceMs);
  }

  private exited(c: Container, how: string): void {
    c.exit = how;
    // A container that dies while starting is startContainer's to handle (with its backoff).
    if (c.phase === "starting") return;
    const expected = c.phase === "draining" || c.phase === "failed" || this.closed;
    if (c.phase !== "failed") c.phase = "stopped";
    void c.pool?.destroy().catch(() => undefined);
    this.remove(c);
    if (!expected) this.deps.log.warn({ event: "container.exited", fn: this.key, container: c.id, exit: how }, "container exited unexpectedly");
    else this.deps.log.info({ event: "container.stopped", fn: this.key, container: c.id, reason: c.stopReason, exit: how }, "container stopped");
    if (!this.closed) this.deps.changed(this);
  }

  private remove(c: Container): void {
    const i = this.containers.indexOf(c);
    if (i >= 0) this.containers.splice(i, 1);
  }

  /**
   * Stops every container (agent shutdown or undeploy); waiting inputs stay queued (spawned ones are
   * durable). With `drainMs`, nothing new is sent but the inputs in flight get up to that long to finish
   * first, so that their results are recorded here: an agent that stops without waiting leaves them
   * running in their containers and unfinished in its store, and the next agent runs them again.
   */
  async close(graceMs: number, drainMs = 0): Promise<void> {
    this.closed = true;
    this.batchTimer?.cancel();
    if (drainMs > 0 && this.inFlight > 0) {
      let timer: Timer | null = null;
      await new Promise<void>((resolve) => {
        this.settledWaiters.push(resolve);
        timer = this.clock.setTimeout(resolve, drainMs);
      });
      (timer as Timer | null)?.cancel();
    }
    const all = this.containers.filter((c) => c.handle !== null);
    await Promise.all(
      all.map(async (c) => {
        c.phase = "draining";
        c.stopReason ??= "shutdown";
        // Not pool.close(): it would wait for requests that may never end; the process exit ends them.
        await this.deps.backend.stop(c.handle as NonNullable<Container["handle"]>, graceMs);
        await c.pool?.destroy().catch(() => undefined);
      }),
    );
  }

  /** The captured output of this function's containers, at most `tailLines` lines each. */
  logs(tailLines: number): Promise<Array<{ container: string; lines: string[] }>> {
    return this.deps.backend.logs(this.key, tailLines);
  }

  status(): Record<string, unknown> {
    let ready = 0;
    for (const c of this.containers) if (c.phase === "ready") ready++;
    return {
      replicas: this.desired,
      readyReplicas: ready,
      queueDepth: this.queued,
      delayed: this.delayed,
      inFlight: this.inFlight,
      pendingSpawns: this.pendingSpawns,
      ...(this.startFailures > 0 && this.lastStartError !== null ? { startFailures: this.startFailures, lastStartError: this.lastStartError } : {}),
      ...(this.lastScaleReason === null ? {} : { lastScaleReason: this.lastScaleReason, lastScaleTime: new Date(this.lastScaleTime as number).toISOString() }),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
