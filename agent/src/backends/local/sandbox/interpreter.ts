/**
 * What a sandboxed worker needs of its interpreter: the binary to run and the directories to bind
 * read-only so that it finds its standard library and installed packages.
 *
 * Python is asked once per (interpreter, app dir), with the environment a worker gets (PATH, HOME,
 * LANG): `sys.executable` (the real binary: a pyenv shim in front of it is a shell script that
 * needs ~/.pyenv/libexec, and it picks the version from the app dir's .python-version, which is why
 * the app dir is the cwd of the question), its prefixes (a venv's and its base's), the user site dir,
 * and every directory on `sys.path` (which covers .pth files and editable installs that point
 * elsewhere). One question costs ~50 ms; it is cached, so a scale-up from 0 to 10 asks once.
 *
 * Node: the prefix of the real binary (`<prefix>/bin/node`), which holds its own modules.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Interpreter {
  /** Absolute path of the binary to run inside the sandbox. */
  executable: string;
  /** Existing directories (real paths) to bind read-only. */
  paths: string[];
}

// The question runs outside the sandbox, as the agent's user, in the app dir (for pyenv's choice): the
// first line drops that dir ('' for -c) from sys.path, so an app's json.py or site.py is never imported.
const ASK = [
  "import sys; del sys.path[0]",
  "import json, site",
  "user = site.getusersitepackages() if site.ENABLE_USER_SITE else None",
  "print(json.dumps({'executable': sys.executable, 'paths': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, user] + sys.path}))",
].join("\n");

export class Interpreters {
  private readonly python = new Map<string, Promise<Interpreter>>();

  constructor(private readonly env: Record<string, string>) {}

  /** Python `python` as seen from `cwd`. A failed question is not cached: the next start asks again. */
  forPython(python: string, cwd: string): Promise<Interpreter> {
    const key = `${python}\0${cwd}`;
    let found = this.python.get(key);
    if (found === undefined) {
      found = askPython(python, cwd, this.env);
      this.python.set(key, found);
      found.catch(() => this.python.delete(key));
    }
    return found;
  }

  forNode(node: string): Interpreter {
    const real = fs.realpathSync(node);
    return { executable: real, paths: existingDirs([path.dirname(path.dirname(real))]) };
  }
}

function askPython(python: string, cwd: string, env: Record<string, string>): Promise<Interpreter> {
  return new Promise((resolve, reject) => {
    execFile(python, ["-c", ASK], { cwd, env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`cannot ask ${python} for its prefixes: ${(stderr.trim() || err.message).split("\n").slice(-3).join(" / ")}`));
        return;
      }
      try {
        const answer = JSON.parse(stdout) as { executable: string; paths: Array<string | null> };
        if (answer.executable === "") throw new Error("empty sys.executable");
        // The binary's own dir too: a venv's bin/python links to a base interpreter, wherever that is.
        const binDir = path.dirname(fs.realpathSync(answer.executable));
        resolve({ executable: answer.executable, paths: existingDirs([...answer.paths.filter((p): p is string => typeof p === "string" && path.isAbsolute(p)), binDir]) });
      } catch (e) {
        reject(new Error(`cannot ask ${python} for its prefixes: unexpected answer ${JSON.stringify(stdout.slice(0, 200))} (${(e as Error).message})`));
      }
    });
  });
}

/** Real paths of the directories among `paths` that exist, once each. */
export function existingDirs(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    try {
      if (fs.statSync(p).isDirectory()) out.add(fs.realpathSync(p));
    } catch {
      // Absent (python311.zip, a user site never created): nothing to bind.
    }
  }
  return [...out];
}
