/**
 * `warmpool dev`'s reload: it watches the spec file and the files of its app dir, and
 *
 * - when the spec file changed, loads it again and deploys it: functions whose spec changed get new
 *   versions, the others keep running; a spec with problems is reported (every one) and the running
 *   version stays;
 * - when a code file of the app dir changed (`.py`, `.js`, `.mjs`, `.cjs`, `.json`: a handler module or
 *   something it imports), makes new versions of every function of the app, so that new containers
 *   load the new code. Waiting inputs move to the new versions; inputs in flight finish on the old
 *   containers, which stop after them. Other files (data, output a test writes) change nothing.
 *
 * and prints what it did, one line each. Changes are gathered for DEBOUNCE_MS (an editor's save is
 * often several writes: a temp file, a rename, a chmod). The state dir, `.git`, `node_modules`,
 * `__pycache__` and compiled files are not watched: the agent itself writes there.
 *
 * fs.watch with `recursive` (Linux: Node 20+), one watcher for the whole dir.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SpecError } from "@warmpool/schema";
import type { Agent } from "../agent";
import { loadSpecFile, type LoadedApp } from "../spec/load";

const DEBOUNCE_MS = 150;
const IGNORED_DIRS = new Set([".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"]);
/** Files whose change means new code: handler modules and what they import. */
const CODE = /\.(py|js|mjs|cjs|json)$/;

export interface DevWatchOptions {
  specFile: string;
  stateDir: string;
  /** The Python interpreter of the local backend, asked once for its standard-library module names. */
  python: string;
  /** Where it says what it did. */
  print(line: string): void;
}

/** Starts watching; returns a function that stops it. */
export function watchDev(agent: Agent, options: DevWatchOptions): () => void {
  const spec = path.resolve(options.specFile);
  const dir = path.dirname(spec);
  const stateDir = path.resolve(options.stateDir);
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  const stdlib = stdlibModules(options.python);
  const warn = (loaded: LoadedApp): void => {
    for (const w of shadowWarnings(loaded, stdlib)) options.print(`warning: ${w}`);
  };
  for (const a of agent.registry.apps()) warn(a.loaded);
  const flush = (): void => {
    timer = null;
    const files = [...changed];
    changed.clear();
    running = running.then(() => reload(agent, spec, files, options.print, warn)).catch((err: Error) => options.print(`reload failed: ${err.message}`));
  };

  const watcher = fs.watch(dir, { recursive: true }, (_event, name) => {
    if (name === null) return;
    const file = path.resolve(dir, name.toString());
    if (ignored(file, dir, stateDir)) return;
    changed.add(file);
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(flush, DEBOUNCE_MS);
  });
  watcher.on("error", (err) => options.print(`watching ${dir} stopped: ${err.message}`));
  return () => {
    if (timer !== null) clearTimeout(timer);
    watcher.close();
  };
}

function ignored(file: string, dir: string, stateDir: string): boolean {
  if (file === stateDir || file.startsWith(stateDir + path.sep)) return true;
  const rel = path.relative(dir, file);
  if (rel.startsWith("..")) return true;
  if (rel.split(path.sep).some((part) => IGNORED_DIRS.has(part))) return true;
  return false;
}

/** Python's standard-library module names (`sys.stdlib_module_names`, 3.10+); empty when it cannot say. */
function stdlibModules(python: string): Set<string> {
  try {
    const out = execFileSync(python, ["-c", "import sys, json; print(json.dumps(sorted(getattr(sys, 'stdlib_module_names', []))))"], { timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] });
    return new Set(JSON.parse(out.toString()) as string[]);
  } catch {
    return new Set();
  }
}

/**
 * Python handler modules of the app dir named like a standard-library module: Python finds the
 * standard one first (`site`, `types`, `queue` are imported before the handler), so the handler is
 * not there: `module 'site' has no attribute 'serve'`.
 */
export function shadowWarnings(loaded: LoadedApp, stdlib: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const fn of loaded.functions) {
    if (fn.runtime !== "python") continue;
    const top = (fn.handler.split(":")[0] ?? "").split(".")[0] ?? "";
    if (!stdlib.has(top)) continue;
    const file = [`${top}.py`, top].find((f) => fs.existsSync(path.join(loaded.appDir, f)));
    if (file === undefined) continue;
    out.push(
      `functions.${fn.name}: handler module "${top}" (${file}) has the name of Python's standard-library module ${top}, which Python imports instead; rename it (e.g. ${top}_app${file.endsWith(".py") ? ".py" : ""}) and the handler`,
    );
  }
  return out;
}

async function reload(agent: Agent, spec: string, files: string[], print: (line: string) => void, warn: (loaded: LoadedApp) => void): Promise<void> {
  const specChanged = files.includes(spec);
  const others = files.filter((f) => f !== spec && CODE.test(f) && fs.existsSync(f) && fs.statSync(f).isFile());
  if (!specChanged && others.length === 0) return;
  const rel = (f: string): string => path.relative(process.cwd(), f) || f;
  let loaded;
  try {
    loaded = loadSpecFile(spec);
  } catch (err) {
    if (!(err instanceof SpecError) && !(err instanceof Error && "code" in err)) throw err;
    print(`${rel(spec)} changed, and is not deployed: ${err.message}\n  (the running version stays)`);
    return;
  }
  warn(loaded);
  const name = loaded.app.name;
  const before = agent.registry.app(name);
  const replace = others.length > 0;
  const deployed = agent.deployer.deploy(loaded, "file", { replace });
  const keys = [...deployed.functions.keys()];
  if (replace) {
    const what = others.length === 1 ? rel(others[0] as string) : `${others.length} files (${others.slice(0, 3).map(rel).join(", ")}${others.length > 3 ? ", ..." : ""})`;
    print(`${what} changed: new containers for ${keys.map((k) => `${name}/${k}`).join(", ") || "no function"}; calls in flight finish on the old ones`);
    return;
  }
  const fresh = keys.filter((k) => before?.functions.get(k) !== deployed.functions.get(k));
  const removed = [...(before?.functions.keys() ?? [])].filter((k) => !deployed.functions.has(k));
  const parts = [
    ...(fresh.length > 0 ? [`redeployed ${fresh.map((k) => `${name}/${k}`).join(", ")}`] : []),
    ...(removed.length > 0 ? [`removed ${removed.map((k) => `${name}/${k}`).join(", ")}`] : []),
  ];
  print(`${rel(spec)} changed: ${parts.length > 0 ? parts.join("; ") : "no function changed (schedules and endpoints updated)"}`);
}
