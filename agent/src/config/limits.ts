/**
 * Limits derived from the process's resources. The gateway's connection cap keeps a quarter of the
 * open-file limit (at least 256) for worker processes, log files and the database, and halves the rest
 * (a proxied request holds its client's descriptor and one to the web server): with Node's start-up
 * raising the soft limit to the hard one, 1,024 fds allow 384 connections, 65,536 allow 24,576.
 */
import * as fs from "node:fs";

/** The soft limit on open files of this process (Node raised it to the hard limit at start), or null off Linux. */
export function openFileLimit(): number | null {
  try {
    const line = fs
      .readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? null : Number(soft);
  } catch {
    return null;
  }
}

export function defaultMaxConnections(fdLimit: number | null): number {
  if (fdLimit === null) return 10_000;
  // Each client connection may hold a second descriptor: its proxied connection to a web server.
  return Math.max(64, Math.floor((fdLimit - Math.max(256, Math.floor(fdLimit / 4))) / 2));
}

/**
 * HAProxy's cap in front of the agent: the agent's, unless HAProxy's descriptors run out first. It
 * holds two per proxied connection (client and server side) plus 64 it accepts only to refuse: at
 * 1,024 fds that is 320 connections, at 20,000 the agent's own 7,500.
 */
export function haproxyMaxConnections(fdLimit: number | null, agentMax: number): number {
  if (fdLimit === null) return agentMax;
  return Math.max(32, Math.min(agentMax, Math.floor((fdLimit - 256) / 2) - 64));
}
