/**
 * `--sandbox none`: the worker is a plain child process with the agent's uid, seeing everything the
 * agent sees; it still dies with the agent (proc/parent-death.ts `tiedToAgent`).
 */
import { tiedToAgent } from "../../../proc/parent-death";
import * as fs from "node:fs";
import type { Entry, Sandbox, Spawnable, WorkerLaunch } from "./sandbox";

export class NoSandbox implements Sandbox {
  readonly name = "none";
  readonly user = null;

  async prepare(launch: WorkerLaunch): Promise<Spawnable> {
    if (launch.volumes.length > 0) {
      throw new Error(`volumes (${launch.volumes.map((v) => v.path).join(", ")}) need the sandbox (--sandbox bwrap): without it the worker cannot see them at their mount paths`);
    }
    const [command, args] = tiedToAgent(launch.interpreter, launch.args);
    return { command, args };
  }

  signal(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }

  /** The worker is the process itself (setpriv execs it): the command starts in its working dir, tied to the agent as it is. */
  enter(pid: number, command: readonly string[]): Entry {
    let cwd: string;
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      throw new Error(`its worker (pid ${pid}) is not running`);
    }
    const [c, args] = tiedToAgent(command[0] as string, command.slice(1));
    return { command: c, args, worker: pid, cwd };
  }

  describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    return signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
  }
}
