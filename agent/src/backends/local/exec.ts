/**
 * Runs a command inside a local container (`warmpool container exec`): the sandbox's entry command
 * (sandbox.ts `enter`) with the worker's own environment, no stdin, stdout and stderr kept up to a
 * bound each, and everything it started killed at the deadline. It runs in a process group of its
 * own, and the deadline kills the group: with bwrap, nsenter forks the command into the sandbox's pid
 * namespace, so killing nsenter alone would leave the command running.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { ExecOptions, ExecResult } from "../backend";
import type { Entry } from "./sandbox/sandbox";

export function runEntry(entry: Entry, o: ExecOptions): Promise<ExecResult> {
  const env = environOf(entry.worker);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(entry.command, entry.args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true, ...(entry.cwd === undefined ? {} : { cwd: entry.cwd }) });
    let truncated = false;
    let timedOut = false;
    const keep = (): { chunks: Buffer[]; size: number; add(b: Buffer): void } => ({
      chunks: [],
      size: 0,
      add(b: Buffer) {
        const room = o.maxOutputBytes - this.size;
        if (b.length > room) truncated = true;
        if (room <= 0) return;
        const part = b.length > room ? b.subarray(0, room) : b;
        this.chunks.push(part);
        this.size += part.length;
      },
    });
    const out = keep();
    const err = keep();
    child.stdout.on("data", (b: Buffer) => out.add(b));
    child.stderr.on("data", (b: Buffer) => err.add(b));
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, o.timeoutMs);
    const done = (exitCode: number | null, signal: string | null, spawnError?: string): void => {
      clearTimeout(timer);
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out.chunks).toString("utf8"),
        stderr: spawnError ?? Buffer.concat(err.chunks).toString("utf8"),
        truncated,
        timedOut,
        durationMs: Date.now() - t0,
      });
    };
    child.once("error", (e) => done(null, null, `could not run ${entry.command}: ${e.message}`));
    // "close": after both pipes are drained, so the output is whole.
    child.once("close", (code, signal) => done(code, signal));
  });
}

/** The worker's environment, as the container's processes get it (PROTOCOL.md's list and the Function's env and secrets). */
function environOf(pid: number): Record<string, string> {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    throw new Error(`its worker (pid ${pid}) is not running`);
  }
  const env: Record<string, string> = {};
  for (const pair of raw.split("\0")) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}
