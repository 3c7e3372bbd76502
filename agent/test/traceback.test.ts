/**
 * What a failed start's caller sees of the worker's output (containers/traceback.ts): the last
 * traceback, less the runtime's frames, the import machinery's and the runtime's own lines.
 */
import { trimTraceback } from "../src/containers/traceback";

const CASES: Array<[string, string[], string[]]> = [
  [
    "Python: an import error in the user's module",
    [
      "some earlier output",
      "Traceback (most recent call last):",
      '  File "/opt/agent/runtimes/python/src/warmpool/worker.py", line 58, in main',
      "    handler = loader.load(config.handler, config.app_dir)",
      "              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
      '  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module',
      "    return _bootstrap._gcd_import(name[level:], package, level)",
      '  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import',
      '  File "/app/handlers.py", line 1, in <module>',
      "    import torch",
      "ModuleNotFoundError: No module named 'torch'",
      "[warmpool] handlers:f failed to start in container f-1",
    ],
    ["Traceback (most recent call last):", '  File "/app/handlers.py", line 1, in <module>', "    import torch", "ModuleNotFoundError: No module named 'torch'"],
  ],
  [
    "Python: only the runtime's frames (no such handler): the exception line alone",
    [
      "Traceback (most recent call last):",
      '  File "/x/site-packages/warmpool/loader.py", line 70, in _attribute',
      "    raise LoadError(...)",
      "warmpool.loader.LoadError: site has no attribute 'serve'",
    ],
    ["warmpool.loader.LoadError: site has no attribute 'serve'"],
  ],
  [
    "Node: the runtime's and Node's own frames go",
    [
      "Error: connect ECONNREFUSED 127.0.0.1:5432",
      "    at Object.enter (/app/handlers.js:4:11)",
      "    at load (/opt/agent/runtimes/node/loader.js:30:5)",
      "    at node:internal/main/run_main_module:28:49",
      "    at Module._compile (node:internal/modules/cjs/loader:1256:14)",
    ],
    ["Error: connect ECONNREFUSED 127.0.0.1:5432", "    at Object.enter (/app/handlers.js:4:11)"],
  ],
];

test.each(CASES)("%s", (_name, lines, expected) => {
  expect(trimTraceback(lines)).toEqual(expected);
});
