/**
 * Where containers run. The agent decides how many containers a function needs and which one to stop;
 * a Backend only carries that out: start one, wait until it is ready, stop one after draining, list
 * them. It never sees inputs: the dispatcher talks to each container's HTTP endpoint directly.
 *
 * `local` (backends/local) runs each container as a worker process on this machine. A `kubernetes`
 * backend fits the same shape with one Deployment per function: `start` raises `replicas` by one and
 * resolves with the new Pod (name, Pod IP, port 8000); `stop` removes exactly the chosen Pod (marked
 * with the lowest `pod-deletion-cost`, or deleted by UID while another Pod is starting) by lowering
 * `replicas`; `ready` watches the Pod's readiness probe
 * on `/ready`; `list` reads the Pods by label after an agent restart.
 */
import type { FunctionConfig } from "../config/function";

/**
 * Exit status of a worker whose handler failed to import or whose `@enter` hook raised (PROTOCOL.md):
 * the same code fails the same way again, so the agent does not retry it on its own.
 */
export const START_FAILED_STATUS = 3;

/**
 * `ready` rejects with this; `deterministic` when the worker exited with START_FAILED_STATUS. `output`:
 * the end of what the container printed, when the backend has it at hand (a Pod's termination
 * message); otherwise the pool asks `logs`.
 */
export class ContainerStartError extends Error {
  constructor(
    message: string,
    readonly deterministic: boolean,
    readonly output?: readonly string[],
  ) {
    super(message);
    this.name = "ContainerStartError";
  }
}

export type ContainerPhase = "starting" | "ready" | "draining" | "stopped" | "failed";

export interface ContainerHandle {
  id: string;
  /** `app/fn`. */
  fn: string;
  host: string;
  port: number;
  /** Process id (local) or Pod name (kubernetes), for people. */
  ref: string;
  gpus: string[];
  startedAt: number;
  /**
   * The `Authorization` the worker requires on `/invoke` and `/shutdown` (`Bearer` and its
   * App's token, PROTOCOL.md "Who may call a worker"), when it requires one.
   */
  authorization?: string;
  /** Resolves when the container has exited, with a description of how. */
  exited: Promise<string>;
}

export interface ContainerInfo {
  id: string;
  fn: string;
  ref: string;
  host: string;
  port: number;
  gpus: string[];
  startedAt: number;
}

export interface Backend {
  readonly name: string;
  /** Starts a container of `fn`; resolves once it runs (not yet ready). */
  start(fn: FunctionConfig, id: string): Promise<ContainerHandle>;
  /** Resolves once the container answers `GET /ready` 200; rejects on exit or after `timeoutMs`. */
  ready(handle: ContainerHandle, timeoutMs: number): Promise<void>;
  /**
   * Stops a container the agent has drained (no inputs in flight): SIGTERM, so `@exit` hooks run, then
   * SIGKILL once `graceMs` has passed. `graceMs` 0 kills at once (a timed-out or broken container).
   */
  stop(handle: ContainerHandle, graceMs: number): Promise<void>;
  list(): ContainerInfo[];
  /** The captured output of the function's containers, oldest container first, at most `tailLines` lines each. */
  logs(fn: string, tailLines: number): Promise<ContainerLogs[]>;
  /**
   * Follows the output of the function's containers (`warmpool logs --follow`): first the last
   * `tailLines` lines of each container whose output changed since `sinceMs` (epoch ms; 0: all), then,
   * with `follow`, each line as it is written, until `close()`. Absent where the backend cannot (the
   * kubernetes backend: `kubectl logs -f`).
   */
  followLogs?(fn: string, options: FollowOptions, sink: LogSink): { close(): void };
  /**
   * Runs `command` inside a running container as its worker runs (its user, file system, namespaces
   * and environment), without a terminal or stdin (`warmpool container exec`). Absent where the
   * backend offers no way in (kubernetes: `kubectl exec`, with the cluster's credentials).
   */
  exec?(handle: ContainerHandle, command: readonly string[], options: ExecOptions): Promise<ExecResult>;
  /** Where `exec` is absent: why, and the command line that runs `command` in the container instead. */
  execRefusal?(handle: ContainerHandle, command: readonly string[]): string;
  close(): Promise<void>;
}

export interface ExecOptions {
  /** The command and everything it started are killed after this long. */
  timeoutMs: number;
  /** Of each of stdout and stderr; the rest is dropped (`truncated`). */
  maxOutputBytes: number;
}

export interface ExecResult {
  /** null when it was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** A container's last lines; `times` (epoch ms, one per line, null where unknown) where the backend records them. */
export interface ContainerLogs {
  container: string;
  lines: string[];
  times?: Array<number | null>;
}

export interface FollowOptions {
  tailLines: number;
  sinceMs: number;
  follow: boolean;
}

/** One line of a container's output. `time`: when the agent read it from the container (epoch ms); null where unknown. */
export interface LogLine {
  container: string;
  line: string;
  time: number | null;
  /** Where the backend tells them apart. */
  stream?: "stdout" | "stderr" | null;
}

export interface LogSink {
  lines(lines: LogLine[]): void;
  /** The history is out (and, without `follow`, everything). */
  caughtUp(): void;
  /** The reader is behind: lines stay in the files until it catches up. */
  paused(): boolean;
}
