/**
 * A failed start's output, as the caller should see it: the worker's last traceback without the
 * frames of warmpool's own runtime and of the import machinery, which are the same for every failure
 * and hide the one line that matters (`File "handlers.py", line 1` ... `ModuleNotFoundError: ...`).
 *
 * Python: a frame is its `  File "…", line N, in f` line and the indented source and caret lines
 * under it; dropped when the file is a module of the runtime (`…/warmpool/<module>.py`), importlib's
 * `__init__.py`, or frozen (`<frozen importlib._bootstrap>`). Node: `    at …` lines in the runtime
 * (`…/runtimes/node/…`) or in Node itself (`node:internal/…`). The runtime's own `[warmpool] …` lines
 * go too. What is left is the traceback's head, the user's frames and the exception.
 */

const RUNTIME_PY = /[\\/]warmpool[\\/][A-Za-z_]+\.py$|[\\/]importlib[\\/]__init__\.py$|^<frozen /;
const RUNTIME_JS = /[\\/]runtimes[\\/]node[\\/]|\(node:|^\s*at node:/;
const PY_FRAME = /^ {2}File "(.*)", line \d+/;

export function trimTraceback(lines: readonly string[]): string[] {
  // The last traceback only: a log may hold an earlier one (a worker's output before it failed).
  let start = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith("Traceback (most recent call last):")) {
      start = i;
      break;
    }
  }
  const out: string[] = [];
  let dropping = false;
  for (const line of lines.slice(start)) {
    if (line.startsWith("[warmpool] ")) continue;
    const frame = PY_FRAME.exec(line);
    if (frame !== null) {
      dropping = RUNTIME_PY.test(frame[1]!);
      if (!dropping) out.push(line);
      continue;
    }
    // A frame's source and caret lines are indented deeper than its File line.
    if (line.startsWith("    ") && !/^\s+at /.test(line)) {
      if (!dropping) out.push(line);
      continue;
    }
    dropping = false;
    if (/^\s+at /.test(line) && RUNTIME_JS.test(line)) continue;
    out.push(line);
  }
  // Only the runtime's frames (the handler is not in its module): the exception line says it all.
  if (out.length === 2 && out[0]!.startsWith("Traceback (most recent call last):")) out.shift();
  return out;
}
