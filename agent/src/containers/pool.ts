/**
 * The containers of one function: it starts them through the Backend and makes them ready, drains and
 * stops them, and notices when they exit. How many there should be is the autoscaler's decision; which
 * input runs where is the dispatcher's. A container that fails to start sets the pool's start back-off
 * (1 s, 2 s, 4 s … at most 30 s after each failure in a row), which the autoscaler's decide() reads.
 *
 * A draining container stops once its Load (load/load.ts) has nothing in flight on it: at once when
 * idle, else when the last input, proxied request or hold on it ends (the Load tells the pool).
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { Pool, request } from "undici";
import { ContainerStartError, type Backend, type ContainerLogs, type ExecOptions, type ExecResult, type FollowOptions, type LogSink } from "../backends/backend";
import type { Clock } from "../clock";
import type { FunctionConfig } from "../config/function";
import { AgentError } from "../errors";
import type { Load } from "../load/load";
import { Container } from "./container";
import { trimTraceback } from "./traceback";

/** What the pool tells the rest of its function. */
export interface PoolEvents {
  /** `c` is ready for inputs. */
  ready(c: Container): void;
  /** A container became ready or stopped: the autoscaler may want to act, the data plane to rotate. */
  changed(): void;
  /**
   * A start failed, the `failures`th in a row; the pool waits for what this returns before it says
   * `changed`. `failure` is set when it will fail the same way again (pool.ts `StartFailure`).
   */
  startFailed(c: Container, message: string, failures: number, failure: StartFailure | null): Promise<void> | void;
  /** `c` starts draining, before its load is read to decide whether it may stop now. */
  draining(c: Container): void;
}

export interface PoolDeps {
  backend: Backend;
  clock: Clock;
  log: Logger;
  load: Load<Container>;
  events: PoolEvents;
}

/** The start back-off after failed starts: no start before `until` (epoch ms). */
export interface StartBackoff {
  until: number;
  failures: number;
  /** Containers in a row that exited on their own within CRASH_LOOP_WINDOW_MS of being ready. */
  crashes: number;
}

/**
 * A container that exits on its own (not stopped by the agent) within this long of becoming ready is
 * a crash loop in the making: a handler that kills its process on every input, an OOM on the first
 * batch. Each such exit holds the next start back like a failed start does (1 s, doubling to 30 s),
 * instead of paying a cold start per input; one that lived longer resets the count. A minute: longer
 * than any one input the loop re-runs at once, short of the 2–5 min a real deployment runs healthy.
 */
export const CRASH_LOOP_WINDOW_MS = 60_000;

const MAX_BACKOFF_MS = 30_000;
/** Cold starts remembered for the autoscaler's estimate: the last 5, so one slow start moves the mean by a fifth. */
const KEPT_COLD_STARTS = 5;

/**
 * After a start that will fail the same way again (an import error, a missing handler, `@enter`
 * raising: the worker's exit status 3), the pool starts nothing on its own for this long (not even
 * for minContainers): the next input that arrives lets it try once more, with that input waiting for
 * the outcome. So a broken handler costs one start per input instead of a start every back-off.
 */
const HOLD_AFTER_DETERMINISTIC_MS = 10 * 60_000;

/** A start that will fail the same way again, and the worker's traceback without the runtime's frames. */
export interface StartFailure {
  message: string;
  traceback: string;
  at: number;
}

/** A keep-alive pool of `connections` to a worker (timeouts are the dispatcher's, per attempt, on the injected clock). */
function workerConnection(host: string, port: number, connections: number): Pool {
  return new Pool(`http://${host}:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
}

export class ContainerPool {
  private readonly list: Container[] = [];
  private failures = 0;
  private blockedUntil = 0;
  private lastError: string | null = null;
  private deterministic: StartFailure | null = null;
  private closed = false;
  private readonly starts: number[] = [];
  private crashes = 0;
  private lastCrash: { at: number; container: string; lived: number; exit: string } | null = null;

  constructor(
    private readonly config: FunctionConfig,
    private readonly deps: PoolDeps,
  ) {}

  /** Oldest first. */
  get containers(): readonly Container[] {
    return this.list;
  }

  get backoff(): StartBackoff {
    return { until: this.blockedUntil, failures: this.failures, crashes: this.crashes };
  }

  /** Containers in a row that exited on their own soon after they were ready, and how the last one went; null when none did. */
  get crashLoop(): { crashes: number; lastExit: string } | null {
    return this.crashes === 0 || this.lastCrash === null ? null : { crashes: this.crashes, lastExit: this.lastCrash.exit };
  }

  /** Failed starts in a row (0 after a success). */
  get startFailures(): number {
    return this.failures;
  }

  /** The last start, when it failed in a way that will repeat (until a start succeeds), or null. */
  get startFailure(): StartFailure | null {
    return this.deterministic;
  }

  /** New work arrived: after a start that will fail again, it may try once more (HOLD_AFTER_DETERMINISTIC_MS). */
  demand(): void {
    if (this.deterministic !== null && this.blockedUntil > this.deps.clock.now()) this.blockedUntil = 0;
  }

  /** Why the last start failed, or null. */
  get lastStartError(): string | null {
    return this.lastError;
  }

  /** Mean start → ready of the last containers that became ready (ms), or null before the first. */
  coldStartMs(): number | null {
    if (this.starts.length === 0) return null;
    return this.starts.reduce((a, b) => a + b, 0) / this.starts.length;
  }

  /** Starting or ready. */
  live(): number {
    let n = 0;
    for (const c of this.list) if (c.live) n++;
    return n;
  }

  readyCount(): number {
    let n = 0;
    for (const c of this.list) if (c.phase === "ready") n++;
    return n;
  }

  /** The ready container with the least in flight, or null. */
  leastBusy(): Container | null {
    const load = this.deps.load;
    let best: Container | null = null;
    for (const c of this.list) if (c.phase === "ready" && (best === null || load.inFlightOn(c) < load.inFlightOn(best))) best = c;
    return best;
  }

  /** Starts one container and makes it ready; a failure backs off (and may fail the queue: PoolEvents.startFailed). */
  async start(): Promise<void> {
    const { backend, clock, log, events } = this.deps;
    const c = new Container(`${this.config.name}-${randomBytes(4).toString("hex")}`, clock.now());
    this.list.push(c);
    const t0 = performance.now();
    try {
      const handle = await backend.start(this.config, c.id);
      c.handle = handle;
      const spawned = performance.now();
      void handle.exited.then((how) => this.exited(c, how));
      await backend.ready(handle, this.config.startupTimeoutMs);
      if (c.phase !== "starting") return;
      c.connection = workerConnection(handle.host, handle.port, this.config.maxInputs);
      c.phase = "ready";
      c.readyAt = clock.now();
      this.starts.push(c.readyAt - c.createdAt);
      if (this.starts.length > KEPT_COLD_STARTS) this.starts.shift();
      this.deps.load.ready(c);
      this.failures = 0;
      this.deterministic = null;
      log.info({ event: "container.ready", fn: this.config.key, container: c.id, ref: handle.ref, startMs: round(spawned - t0), readyMs: round(performance.now() - spawned) }, "container ready");
      events.changed();
      events.ready(c);
    } catch (err) {
      const message = (err as Error).message;
      c.phase = "failed";
      c.exit = message;
      this.remove(c);
      if (c.handle !== null) void backend.stop(c.handle, 0);
      this.failures++;
      const repeats = err instanceof ContainerStartError && err.deterministic;
      const backoff = repeats ? HOLD_AFTER_DETERMINISTIC_MS : Math.min(1000 * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
      this.blockedUntil = clock.now() + backoff;
      this.lastError = message;
      if (repeats) {
        const output = err.output ?? (await backend.logs(this.config.key, 200).catch(() => [])).find((l) => l.container === c.id)?.lines ?? [];
        this.deterministic = { message, traceback: trimTraceback(output).join("\n"), at: clock.now() };
      } else this.deterministic = null;
      log.warn(
        { event: "container.startFailed", fn: this.config.key, container: c.id, failures: this.failures, backoffMs: backoff, repeats, error: message },
        repeats ? "container failed to start, and would again: waiting for the next input (or a reload)" : "container failed to start",
      );
      await events.startFailed(c, message, this.failures, this.deterministic);
      events.changed();
    }
  }

  /** Stops sending to a container and stops it once nothing is in flight on it. */
  drain(id: string, reason: string): boolean {
    const c = this.list.find((x) => x.id === id);
    if (c === undefined || !c.live) return false;
    c.phase = "draining";
    c.stopReason = reason;
    // Its connection broke under an input (dispatcher/attempt.ts): the process died with the input,
    // which is as much a crash as an exit while idle. Counted now, before the input's failure is
    // answered, so that the caller's next input finds the start held back: at the exit it would be a
    // few ms later (the exit is reported once the worker's output is written), after a start for it.
    if (reason === "connection failed" && !this.closed) this.crashed(c, "broke its connection under an input");
    this.deps.events.draining(c);
    if (this.deps.load.inFlightOn(c) === 0) this.stop(c);
    return true;
  }

  /** The Load's: nothing is in flight on `c` any more. */
  idle(c: Container): void {
    if (c.phase === "draining") this.stop(c);
  }

  /** The port `c`'s web server listens on, as its worker's `/ready` names it (asked once per container). */
  async webPort(c: Container, timeoutMs = 5000): Promise<number> {
    if (c.webPort !== null) return c.webPort;
    const handle = c.handle as NonNullable<Container["handle"]>;
    const res = await request(`http://${handle.host}:${handle.port}/ready`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const body = (await res.body.json()) as { webPort?: number };
    const port = body.webPort;
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
      throw new AgentError("WP_ERR_NOT_A_WEB_SERVER", [`container ${c.id} of ${this.config.key} does not serve a web server (its /ready names no valid webPort: ${JSON.stringify(port ?? null)})`]);
    }
    c.webPort = port as number;
    return c.webPort;
  }

  /** The captured output of the containers, at most `tailLines` lines each. */
  logs(tailLines: number): Promise<ContainerLogs[]> {
    return this.deps.backend.logs(this.config.key, tailLines);
  }

  /** Runs `command` in this function's container `id` (backend.ts `exec`); undefined when it has no such container running. */
  exec(id: string, command: readonly string[], options: ExecOptions): Promise<ExecResult> | undefined {
    const c = this.list.find((x) => x.id === id && x.live);
    if (c === undefined || c.handle === null) return undefined;
    const backend = this.deps.backend;
    if (backend.exec === undefined) {
      const instead = backend.execRefusal?.(c.handle, command);
      throw new AgentError("WP_ERR_NOT_IMPLEMENTED", [`the ${backend.name} backend offers no way into container ${id}${instead === undefined ? "" : `: ${instead}`}`]);
    }
    return backend.exec(c.handle, command, options);
  }

  /** Follows the containers' output (backend.ts `followLogs`); null where the backend cannot. */
  followLogs(options: FollowOptions, sink: LogSink): { close(): void } | null {
    return this.deps.backend.followLogs?.(this.config.key, options, sink) ?? null;
  }

  /**
   * Stops every container (agent shutdown or undeploy) once `drained` resolves (the dispatcher's wait
   * for the inputs in flight, when there is one), without waiting for what they still run. From now on
   * an exit is expected and changes nothing.
   */
  async close(graceMs: number, drained: Promise<void> = Promise.resolve()): Promise<void> {
    this.closed = true;
    await drained;
    const all = this.list.filter((c) => c.handle !== null);
    await Promise.all(
      all.map(async (c) => {
        c.phase = "draining";
        c.stopReason ??= "shutdown";
        // Not connection.close(): it would wait for requests that may never end; the process exit ends them.
        await this.deps.backend.stop(c.handle as NonNullable<Container["handle"]>, graceMs);
        await c.connection?.destroy().catch(() => undefined);
      }),
    );
  }

  /** A timed-out container is killed at once; any other gets the function's timeout to finish. */
  private stop(c: Container): void {
    if (c.handle === null) return;
    void c.connection?.close().catch(() => undefined);
    void this.deps.backend.stop(c.handle, c.stopReason === "timeout" ? 0 : this.config.timeoutMs);
  }

  private exited(c: Container, how: string): void {
    c.exit = how;
    // A container that dies while starting is start()'s to handle (with its back-off).
    if (c.phase === "starting") return;
    const expected = c.phase === "draining" || c.phase === "failed" || this.closed;
    if (c.phase !== "failed") c.phase = "stopped";
    void c.connection?.destroy().catch(() => undefined);
    this.remove(c);
    const log = this.deps.log;
    if (!expected && !this.closed) this.crashed(c, how);
    // Counted when its connection broke (drain): the exit says how it ended.
    else if (c.stopReason === "connection failed" && this.lastCrash?.container === c.id) this.lastCrash.exit = crashText(c, how, this.lastCrash.lived);
    if (!expected) log.warn({ event: "container.exited", fn: this.config.key, container: c.id, exit: how }, "container exited unexpectedly");
    else log.info({ event: "container.stopped", fn: this.config.key, container: c.id, reason: c.stopReason, exit: how }, "container stopped");
    if (!this.closed) this.deps.events.changed();
  }

  /** An unexpected exit: within CRASH_LOOP_WINDOW_MS of ready, the next start waits (and the wait grows). */
  private crashed(c: Container, how: string): void {
    const now = this.deps.clock.now();
    const lived = now - (c.readyAt ?? c.createdAt);
    if (lived >= CRASH_LOOP_WINDOW_MS) {
      this.crashes = 0;
      return;
    }
    if (this.lastCrash !== null && now - this.lastCrash.at > CRASH_LOOP_WINDOW_MS + MAX_BACKOFF_MS) this.crashes = 0;
    this.crashes++;
    this.lastCrash = { at: now, container: c.id, lived, exit: crashText(c, how, lived) };
    const backoff = Math.min(1000 * 2 ** (this.crashes - 1), MAX_BACKOFF_MS);
    this.blockedUntil = Math.max(this.blockedUntil, now + backoff);
    this.deps.log.warn(
      { event: "container.crashLoop", fn: this.config.key, container: c.id, crashes: this.crashes, livedMs: lived, backoffMs: backoff },
      `container exited ${lived} ms after it was ready: the next start waits ${backoff} ms`,
    );
  }

  private remove(c: Container): void {
    const i = this.list.indexOf(c);
    if (i >= 0) this.list.splice(i, 1);
  }
}

function crashText(c: Container, how: string, lived: number): string {
  return `container ${c.id} ${how} ${Math.round(lived / 100) / 10} s after it was ready`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
