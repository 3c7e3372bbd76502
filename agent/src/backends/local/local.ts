/**
 * The `local` backend: each container is a worker process on this machine, started with exactly the
 * environment PROTOCOL.md lists (never the agent's own), listening on a free loopback port, inside a
 * sandbox (sandbox/: bubblewrap by default) that keeps it from the agent and from the other workers
 * and kills it when the agent dies. Its stdout and stderr are pipes the agent reads, writing a file
 * per container with each line's time and stream (log-writer.ts; the worker cannot open the file),
 * which `warmpool logs app/fn` reads back. `warmpool container
 * exec` runs a command beside the worker, inside its sandbox (exec.ts).
 *
 * A pid file per container lets the next agent kill workers that a dead agent left behind. Both
 * sandboxes tie workers to the agent's life, so none should be; the pid files are the second line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { WORKER_CLIENT_ENV, WORKER_ENV as E, WORKER_PROTOCOL } from "@warmpool/schema";
import type { FunctionConfig } from "../../config/function";
import {
  ContainerStartError,
  START_FAILED_STATUS,
  type Backend,
  type ContainerHandle,
  type ContainerInfo,
  type ContainerLogs,
  type ExecOptions,
  type ExecResult,
  type FollowOptions,
  type LogSink,
} from "../backend";
import { runEntry } from "./exec";
import { GpuAllocator } from "./gpus";
import { followLogDir, lastLines } from "./logs";
import { LogWriter } from "./log-writer";
import { freePort } from "./ports";
import { createSandbox } from "./sandbox/create";
import type { Sandbox } from "./sandbox/sandbox";
import { functionVolumes } from "./volumes";

export interface LocalBackendOptions {
  stateDir: string;
  logDir: string;
  runtimesDir: string;
  python: string;
  node: string;
  gpus?: GpuAllocator;
  /** @default bwrap, hiding the state and log dirs, as the user 65534:65534 when the agent is root */
  sandbox?: Sandbox;
  /**
   * The agent's URL and a token scoped to the App (token.ts), put in each worker's environment
   * (WORKER_CLIENT_ENV) so that its code can call the App's functions. May wait until the agent
   * listens. @default none: workers get neither
   */
  agentAccess?: (app: string) => Promise<{ url: string; token: string }>;
}

/** The part of the agent's environment a worker gets (PROTOCOL.md). */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

interface Local {
  handle: ContainerHandle;
  pid: number;
  logFile: string;
  exitedNow: boolean;
  kill(signal: NodeJS.Signals): void;
}

export class LocalBackend implements Backend {
  readonly name = "local";
  private readonly containers = new Map<string, Local>();
  private readonly runDir: string;
  private readonly gpus: GpuAllocator;
  readonly sandbox: Sandbox;

  constructor(private readonly options: LocalBackendOptions) {
    this.sandbox =
      options.sandbox ??
      createSandbox({ kind: "bwrap", user: { uid: 65534, gid: 65534 }, runtimesDir: options.runtimesDir, privatePaths: [options.stateDir, options.logDir], appDirs: () => [], env: inheritedEnv() });
    this.runDir = path.join(options.stateDir, "run");
    fs.mkdirSync(this.runDir, { recursive: true });
    fs.mkdirSync(options.logDir, { recursive: true });
    this.gpus = options.gpus ?? GpuAllocator.detect();
    this.reapOrphans();
    process.once("exit", this.killAll);
  }

  /** When the agent's process exits, however it exits short of SIGKILL, its workers go with it. */
  private readonly killAll = (): void => {
    for (const c of this.containers.values()) c.kill("SIGKILL");
  };

  async start(fn: FunctionConfig, id: string): Promise<ContainerHandle> {
    const gpus = this.gpus.take(fn.gpuCount);
    if (gpus === undefined) throw new Error(`${fn.key} needs ${fn.gpuCount} GPU(s) and fewer are free on this machine`);
    let launch;
    try {
      launch = await this.sandbox.prepare({ ...this.command(fn), appDir: fn.appDir, gpus, volumes: functionVolumes(this.options.stateDir, fn.app, fn.spec.volumes, this.volumeOwner()) });
    } catch (err) {
      this.gpus.release(gpus);
      throw err;
    }
    let access: { url: string; token: string } | undefined;
    try {
      access = await this.options.agentAccess?.(fn.app);
    } catch (err) {
      this.gpus.release(gpus);
      throw err;
    }
    const port = await freePort();
    const logFile = path.join(this.options.logDir, fn.app, fn.name, `${id}.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const { command, args, fd3 } = launch;
    const env: Record<string, string> = {
      ...fn.env,
      ...this.runtimeEnv(fn),
      [E.protocol]: WORKER_PROTOCOL,
      [E.host]: "127.0.0.1",
      [E.port]: String(port),
      [E.handler]: fn.handler,
      [E.appDir]: fn.appDir,
      [E.maxInputs]: String(fn.maxInputs),
      [E.batchSize]: String(fn.batch?.maxBatchSize ?? 0),
      [E.containerId]: id,
      [E.serialization]: fn.spec.serialization,
      ...(access === undefined ? {} : { [WORKER_CLIENT_ENV.url]: access.url, [WORKER_CLIENT_ENV.token]: access.token }),
      ...inheritedEnv(),
    };
    if (gpus.length > 0) env.CUDA_VISIBLE_DEVICES = gpus.join(",");
    const child = spawn(command, args, { cwd: fn.appDir, env, stdio: fd3 === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "pipe", "pipe"] });
    const log = new LogWriter(logFile);
    log.attach(child.stdout as Readable, "stdout");
    log.attach(child.stderr as Readable, "stderr");
    if (fd3 !== undefined) {
      const options = child.stdio[3] as NodeJS.WritableStream;
      options.on("error", () => undefined); // bwrap gone before reading: its exit says why
      options.end(fd3);
    }
    const startedAt = Date.now();
    const pidFile = path.join(this.runDir, `${id}.pid`);
    let local: Local | undefined;
    const exited = new Promise<string>((resolve) => {
      child.once("error", (err) => {
        if (local !== undefined) local.exitedNow = true;
        resolve(`could not start ${command}: ${err.message}`);
      });
      child.once("exit", (code, signal) => {
        if (local !== undefined) local.exitedNow = true;
        resolve(this.sandbox.describeExit(code, signal));
      });
    }).then(async (how) => {
      // Its last lines are in the file before anyone reads why it ended (a start failure's traceback).
      await outputEnded(child, OUTPUT_AFTER_EXIT_MS);
      await log.close();
      this.containers.delete(id);
      this.gpus.release(gpus);
      fs.rmSync(pidFile, { force: true });
      return how;
    });
    // The worker takes /invoke only from holders of the token in its environment (PROTOCOL.md).
    const token = env[WORKER_CLIENT_ENV.token];
    const handle: ContainerHandle = {
      id,
      fn: fn.key,
      host: "127.0.0.1",
      port,
      ref: `pid ${child.pid ?? "?"}`,
      gpus,
      startedAt,
      exited,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    };
    const pid = child.pid;
    local = { handle, pid: pid ?? -1, logFile, exitedNow: false, kill: (signal) => (pid === undefined ? void child.kill(signal) : this.sandbox.signal(pid, signal)) };
    if (child.pid !== undefined) fs.writeFileSync(pidFile, String(child.pid));
    this.containers.set(id, local);
    return handle;
  }

  private command(fn: FunctionConfig): { runtime: "python" | "node"; interpreter: string; args: string[] } {
    if (fn.runtime === "node") return { runtime: "node", interpreter: this.options.node, args: [path.join(this.options.runtimesDir, "node", "worker.js")] };
    return { runtime: "python", interpreter: this.options.python, args: ["-m", "warmpool.worker"] };
  }

  private runtimeEnv(fn: FunctionConfig): Record<string, string> {
    if (fn.runtime === "node") return {};
    const src = path.join(this.options.runtimesDir, "python", "src");
    const pythonPath = fs.existsSync(src) ? src : path.join(this.options.runtimesDir, "python");
    // Workers write no .pyc into the app dir: one is checked only by its source's mtime (whole seconds)
    // and size, so after an edit that kept the size within the same second (warmpool dev's reload,
    // `v1` → `v2`) a new worker ran the previous worker's bytecode, 9 times in 10 here. Reading stays
    // as it is: a cache prefix that no .pyc is ever found in cost 270 ms more per worker start (the
    // runtime's own standard-library imports compiled again), and far more with large packages.
    return { PYTHONPATH: pythonPath, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" };
  }

  /** Volume dirs belong to the worker's user where it is not the agent's (bwrap, agent root). */
  private volumeOwner(): { uid: number; gid: number } | null {
    return this.sandbox.user;
  }

  async ready(handle: ContainerHandle, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exit: string | undefined;
    void handle.exited.then((how) => (exit = how));
    let delay = 5;
    for (;;) {
      if (exit !== undefined) throw new ContainerStartError(`container ${handle.id} ${exit} before it was ready`, exit === `exited with status ${START_FAILED_STATUS}`);
      if (await probe(handle.host, handle.port)) return;
      if (Date.now() >= deadline) throw new Error(`container ${handle.id} was not ready within startupTimeout ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
  }

  async stop(handle: ContainerHandle, graceMs: number): Promise<void> {
    const local = this.containers.get(handle.id);
    if (local === undefined || local.exitedNow) {
      await handle.exited;
      return;
    }
    if (graceMs <= 0) local.kill("SIGKILL");
    else {
      local.kill("SIGTERM");
      const timer = setTimeout(() => local.kill("SIGKILL"), graceMs);
      timer.unref();
      void handle.exited.then(() => clearTimeout(timer));
    }
    await handle.exited;
  }

  list(): ContainerInfo[] {
    return [...this.containers.values()].map(({ handle: h }) => ({ id: h.id, fn: h.fn, ref: h.ref, host: h.host, port: h.port, gpus: h.gpus, startedAt: h.startedAt }));
  }

  async logs(fn: string, tailLines: number): Promise<ContainerLogs[]> {
    return lastLines(path.join(this.options.logDir, ...fn.split("/")), tailLines);
  }

  followLogs(fn: string, options: FollowOptions, sink: LogSink): { close(): void } {
    return followLogDir(path.join(this.options.logDir, ...fn.split("/")), options, sink);
  }

  exec(handle: ContainerHandle, command: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const local = this.containers.get(handle.id);
    if (local === undefined || local.exitedNow) return Promise.reject(new Error(`container ${handle.id} has exited`));
    try {
      return runEntry(this.sandbox.enter(local.pid, command), options);
    } catch (err) {
      return Promise.reject(new Error(`container ${handle.id}: ${(err as Error).message}`));
    }
  }

  async close(): Promise<void> {
    process.off("exit", this.killAll);
    const all = [...this.containers.values()];
    for (const c of all) c.kill("SIGKILL");
    await Promise.all(all.map((c) => c.handle.exited));
  }

  /** Kills workers recorded by a previous agent that is gone (their environment names the container). */
  private reapOrphans(): void {
    for (const file of fs.readdirSync(this.runDir)) {
      if (!file.endsWith(".pid")) continue;
      const id = file.slice(0, -4);
      const pidPath = path.join(this.runDir, file);
      const pid = Number(fs.readFileSync(pidPath, "utf8"));
      try {
        const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
        // Through the sandbox: for bwrap that is the sandbox's init, whose end takes every process of it along.
        if (environ.split("\0").includes(`${E.containerId}=${id}`)) this.sandbox.signal(pid, "SIGKILL");
      } catch {
        // Gone already, or not ours.
      }
      fs.rmSync(pidPath, { force: true });
    }
  }
}

/**
 * How long the output of an exited worker may still arrive: its pipes close when the last process
 * holding them ends, which under bwrap is the worker's own end, but without a sandbox a process it
 * started and left running (a daemon) would hold them open for as long as it lives.
 */
const OUTPUT_AFTER_EXIT_MS = 2000;

async function outputEnded(child: ChildProcess, timeoutMs: number): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null && !s.destroyed);
  try {
    await Promise.all(streams.map((s) => once(s, "close", { signal: AbortSignal.timeout(timeoutMs) })));
  } catch {
    for (const s of streams) s.destroy();
  }
}

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: "/ready", agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}
