/**
 * The `warmpool` CLI as a user runs it: a real process (the built CLI), with its output on pipes, or on
 * a pseudo-terminal (util-linux's `script`, which gives the command a terminal of its own) where what
 * matters is what it does on a terminal.
 */
import { execFile } from "node:child_process";
import { MAIN } from "./helpers";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command still running after this is killed, so that a CLI that hangs fails its test instead of stalling the suite. */
const TIMEOUT_MS = 30_000;

/** `warmpool <args>` in `cwd`, stdout and stderr on pipes; `env` is added to the test's environment. */
export function cli(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: TIMEOUT_MS, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

/** A shell word: `s` in single quotes. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `warmpool <args>` as a shell command line (for redirections and pipes). */
export function warmpool(...args: string[]): string {
  return [process.execPath, MAIN, ...args].map(sh).join(" ");
}

/**
 * A shell command line run with a terminal as its stdin, stdout and stderr (what it redirects goes
 * where it says); `output` is what reached the terminal, line ends as the terminal has them (\r\n).
 */
export function onTerminal(cwd: string, command: string, env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile("script", ["-qfec", command, "/dev/null"], { cwd, env: { ...process.env, TERM: "xterm", ...env }, maxBuffer: 64 << 20, timeout: TIMEOUT_MS, killSignal: "SIGKILL" }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, output: stdout });
    });
  });
}
