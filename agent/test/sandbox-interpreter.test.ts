/**
 * The interpreter question of the sandbox (backends/local/sandbox/interpreter.ts): it runs outside the
 * sandbox, as the agent's user, in the app's dir, so it must run none of the app's code, and it must
 * name the real binary behind a shim and the dirs the interpreter needs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { inheritedEnv } from "../src/backends/local/local";
import { Interpreters } from "../src/backends/local/sandbox/interpreter";
import { tempDir } from "./helpers";

test("an app dir with its own json.py and site.py: the question imports neither, and answers", async () => {
  const app = tempDir("interp");
  const marker = path.join(app, "imported");
  for (const mod of ["json", "site"]) fs.writeFileSync(path.join(app, `${mod}.py`), `open(${JSON.stringify(marker)}, "a").write("${mod}\\n")\nraise SystemExit(7)\n`);
  const found = await new Interpreters(inheritedEnv()).forPython("python3", app);
  expect(fs.existsSync(marker)).toBe(false);
  expect(path.isAbsolute(found.executable)).toBe(true);
  // The real binary (not a shell-script shim in front of it), inside a dir that is bound.
  expect(fs.readFileSync(found.executable).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  expect(found.paths.some((p) => fs.realpathSync(found.executable).startsWith(`${p}/`))).toBe(true);
  expect(found.paths).not.toContain(fs.realpathSync(app));
});
