/**
 * Runs Python code that uses the client (agent/runtimes/python/src/warmpool/client) in a process of
 * its own, with an environment built from nothing: HOME is an empty temp dir and no WARMPOOL_*
 * variable leaks in from the test's own environment, so each test states its whole configuration.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RUNTIMES_DIR } from "./worker-process";

export const PYTHON_SRC = path.join(RUNTIMES_DIR, "python", "src");

export interface PyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface PyOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** The interpreter. @default "python3" */
  python?: string;
  stdin?: string;
  /** Leave stdin open (the process can wait on it to stay alive until the test is done). */
  keepStdin?: boolean;
}

/** A fresh empty dir to serve as HOME or a working directory. */
export function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wp-${prefix}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export function pyEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LANG: "C.UTF-8",
    HOME: scratchDir("pyhome"),
    PYTHONPATH: PYTHON_SRC,
    PYTHONDONTWRITEBYTECODE: "1",
    ...(process.env.PYENV_ROOT !== undefined ? { PYENV_ROOT: process.env.PYENV_ROOT } : {}),
    ...extra,
  };
}

/** Starts `code`; the caller reads its output as it comes (`output`) and waits for `done`. */
export function startPython(code: string, options: PyOptions = {}): { child: ChildProcess; done: Promise<PyRun>; output: () => string; errors: () => string } {
  const child = spawn(options.python ?? "python3", ["-c", code], { cwd: options.cwd ?? scratchDir("pycwd"), env: pyEnv(options.env), stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  if (options.keepStdin === true) child.stdin!.write(options.stdin ?? "");
  else child.stdin!.end(options.stdin ?? "");
  const done = new Promise<PyRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => stdout, errors: () => stderr };
}

export async function runPython(code: string, options: PyOptions = {}): Promise<PyRun> {
  return startPython(code, options).done;
}

/** Runs `code`, which must print one JSON document as its last line, and returns that document. */
export async function pyJson(code: string, options: PyOptions = {}): Promise<any> {
  const run = await runPython(code, options);
  if (run.code !== 0) throw new Error(`python exited with ${run.code ?? run.signal}:\n${run.stderr}${run.stdout}`);
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] as string);
}

/** Python source: imports, and `describe(e)`, an exception as JSON (class, bases, str, attributes). */
export const PY_COMMON = [
  "import asyncio, json, os, pickle, sys, time",
  "import warmpool",
  "from warmpool import Client, Cls, Function, FunctionCall",
  "def describe(e): return {'class': type(e).__name__, 'mro': [c.__name__ for c in type(e).__mro__], 'str': str(e), **{k: getattr(e, k) for k in ('type', 'message', 'traceback', 'call_id', 'status', 'code', 'functions', 'retry_after', 'timeout') if hasattr(e, k)}}",
  "",
].join("\n");

/** PY_COMMON, and `agent`, a Client of the test's agent (url and token given outright), and `fn(name)` of its app. */
export function clientPrelude(url: string, token: string, app = "t"): string {
  return [PY_COMMON, `agent = Client(${JSON.stringify(url)}, ${JSON.stringify(token)})`, `def fn(name): return Function.from_name(${JSON.stringify(app)}, name, client=agent)`, ""].join("\n");
}

/** An interpreter older than 3.11 (no tomllib), the oldest there is (3.9 before 3.10), if any. */
export function oldPython(): string | null {
  const candidates = ["python3.9", "python3.10"];
  const root = process.env.PYENV_ROOT ?? path.join(process.env.HOME ?? "/root", ".pyenv");
  for (const version of fs.existsSync(path.join(root, "versions")) ? fs.readdirSync(path.join(root, "versions")) : []) {
    if (/^3\.(9|10)\./.test(version)) candidates.push(path.join(root, "versions", version, "bin", "python3"));
  }
  candidates.sort((a, b) => Number(/3\.(\d+)/.exec(a)?.[1]) - Number(/3\.(\d+)/.exec(b)?.[1]));
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ["-c", "import sys; assert (3, 9) <= sys.version_info < (3, 11)"], { stdio: "ignore" });
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}
