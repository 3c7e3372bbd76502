/**
 * The process tree as /proc shows it (Linux). Used to find the worker inside a bwrap sandbox, which
 * is not the agent's child: agent → bwrap → the sandbox's pid-1 reaper → the worker; and to tell
 * whether a process (HAProxy's worker before a reload) still runs.
 */
import * as fs from "node:fs";

/** Children of `pid`'s main thread (`/proc/<pid>/task/<pid>/children`); [] when it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter((s) => s.trim() !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined when it is gone. */
export function startTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count from the last ")".
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}

/** The child of `pid` that started first (ties: the lower pid). */
export function oldestChild(pid: number): number | undefined {
  let best: { pid: number; t: number } | undefined;
  for (const child of childrenOf(pid)) {
    const t = startTicks(child);
    if (t === undefined) continue;
    if (best === undefined || t < best.t || (t === best.t && child < best.pid)) best = { pid: child, t };
  }
  return best?.pid;
}

/** Whether process `pid` runs (a zombie does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
