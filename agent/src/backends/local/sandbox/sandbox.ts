/**
 * How the local backend isolates a worker from the agent and from the other workers.
 *
 * - `bwrap` (bwrap.ts, the default): each container runs under bubblewrap in its own pid, IPC and UTS
 *   namespaces, with a closed-world file system (mounts.ts), as an unprivileged user when the agent
 *   runs as root, and dies with the agent (--die-with-parent).
 * - `none`: a plain child process with the agent's uid that sees everything the agent sees; it still
 *   dies with the agent (proc/parent-death.ts).
 *
 * A sandbox turns the worker's command into the one to spawn, delivers signals to the worker inside
 * it, words its exit, and makes the command that runs beside a running worker (`container exec`). This module is the contract; create.ts picks the implementation. The environment is not its business: the backend passes exactly what
 * PROTOCOL.md lists, and both sandboxes hand it on unchanged.
 */
import type { User } from "./access";

export interface WorkerLaunch {
  runtime: "python" | "node";
  /** The interpreter as configured (`python3`, or the node binary). */
  interpreter: string;
  /** Its arguments (`-m warmpool.worker`). */
  args: string[];
  appDir: string;
  /** GPU indexes given to the container. */
  gpus: string[];
  /** Read-write dirs: `source` on the host, shown at `path`. */
  volumes: Array<{ source: string; path: string }>;
}

export interface Spawnable {
  command: string;
  args: string[];
  /** Written to the child's fd 3, which is then closed (bwrap reads its options there: see bwrap.ts). */
  fd3?: string;
}

/** A command that runs inside a running container, beside its worker. */
export interface Entry {
  command: string;
  args: string[];
  /** The worker's process (host pid): the command gets its environment. */
  worker: number;
  /** Where to spawn it, on the host; absent when the command sets its own (bwrap: the worker's). */
  cwd?: string;
}

export interface Sandbox {
  readonly name: "bwrap" | "none";
  /** The user the worker runs as when it is not the agent's (bwrap, agent root); files it must write belong to it. */
  readonly user: User | null;
  /** The command that runs the worker; rejects with the reason when it cannot run. */
  prepare(launch: WorkerLaunch): Promise<Spawnable>;
  /** Sends `signal` to the worker run by the process `pid` that prepare()'s command started. */
  signal(pid: number, signal: NodeJS.Signals): void;
  /** The command that runs `command` beside the worker of the sandbox `pid` started; throws when that worker is not running. */
  enter(pid: number, command: readonly string[]): Entry;
  /** How an exit reads: `exited with status 3`, `killed by SIGKILL`. */
  describeExit(code: number | null, signal: NodeJS.Signals | null): string;
}

export interface SandboxOptions {
  kind: "bwrap" | "none";
  /** The user workers run as when the agent runs as root. */
  user: User;
  runtimesDir: string;
  /** The agent's own paths (state dir, logs, token file): never visible to a worker. */
  privatePaths: string[];
  /** Every deployed app's dir, at the time of asking. */
  appDirs: () => string[];
  /** The environment the interpreter is asked in (PATH, HOME, LANG: what a worker gets). */
  env: Record<string, string>;
}
