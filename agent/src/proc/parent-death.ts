/**
 * Child processes that never outlive the agent. An agent killed with SIGKILL runs no exit handler, so
 * nothing in its own code can stop what it started: a worker would finish its input with nobody to
 * report to (the restarted agent runs it again: 63 of 1,000 spawned calls ran twice that way), and a
 * HAProxy would keep the gateway's port, so a restarted agent bound a second one beside it.
 *
 * The kernel can do it: PR_SET_PDEATHSIG makes it send SIGKILL to a process when its parent dies,
 * however it dies. `setpriv --pdeathsig KILL` (util-linux) sets it and then execs the command, so the
 * command keeps its pid and stays the agent's direct child. Two conditions, both met here:
 * - the "parent" is the thread that forked: Node forks (libuv's uv_spawn) on its main thread, whose
 *   end is the process's end;
 * - the setting is cleared by a set-user-ID exec or a change of credentials, so the command must not
 *   change its uid itself (HAProxy is not told to; the bwrap sandbox uses its own --die-with-parent).
 * HAProxy's master re-execs itself on reload and keeps the setting (execve preserves it); its worker
 * processes exit when their master dies.
 */
import { execFileSync } from "node:child_process";

export const SETPRIV = "setpriv";

/** The command line that runs `command args` and kills it when the agent dies. */
export function tiedToAgent(command: string, args: readonly string[]): [string, string[]] {
  return [SETPRIV, ["--pdeathsig", "KILL", "--", command, ...args]];
}

/** Refuses (throws, with the fix) when setpriv is not there to tie `what` to the agent. */
export function requireSetpriv(what: string): void {
  try {
    execFileSync(SETPRIV, ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore", timeout: 10_000 });
  } catch (err) {
    throw new Error(
      `warmpool agent: ${what} is started through setpriv, so that it dies with the agent, and "${SETPRIV} --pdeathsig KILL" does not run here (${(err as Error).message}); ` +
        "install setpriv (Debian/Ubuntu: package util-linux)",
    );
  }
}
