/**
 * The Python client (agent/runtimes/python/src/warmpool/client) against a real agent with real
 * Python workers: each test runs the client in a Python process of its own and checks what it
 * printed, and what the agent saw. Waits are on the agent's state or the client's output, never on
 * the clock; the gate handler holds an input in flight until the test creates its file.
 */
import fs from "node:fs";
import path from "node:path";
import { startAgent, TOKEN, until, workerStats, type Harness } from "../helpers";
import { clientPrelude, oldPython, PY_COMMON, pyJson, runPython, scratchDir, startPython } from "./python-client";

jest.setTimeout(60_000);

const FUNCTIONS = {
  square: { handler: "handlers:square", concurrency: { maxInputs: 16 }, autoscaler: { minContainers: 1, maxContainers: 2 } },
  echo: { handler: "handlers:echo", concurrency: { maxInputs: 8 } },
  boom: { handler: "handlers:boom" },
  picky: { handler: "handlers:picky", concurrency: { maxInputs: 16 }, autoscaler: { maxContainers: 2 } },
  gate: { handler: "handlers:gate", concurrency: { maxInputs: 1 }, autoscaler: { maxContainers: 1 } },
  window: { handler: "handlers:gate", concurrency: { maxInputs: 8 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
  slow: { handler: "handlers:slow", timeout: 1, startupTimeout: 60 },
  die: { handler: "handlers:die" },
  broken: { handler: "handlers:missing" },
  touch: { handler: "handlers:touch", concurrency: { maxInputs: 16 }, autoscaler: { maxContainers: 2 } },
  modules: { handler: "handlers:modules" },
  "model-add": { handler: "handlers:Model.add" },
  "model-twice": { handler: "handlers:Model.twice" },
};
const WINDOW = 64;
const OLD = oldPython();

let h: Harness;
let prelude: string;

beforeAll(async () => {
  h = await startAgent(FUNCTIONS, { mapWindow: WINDOW });
  prelude = clientPrelude(h.url, TOKEN) + `FIXTURE_DIR = ${JSON.stringify(h.dir)}\ndef open_gate(name): open(os.path.join(FIXTURE_DIR, name), "w").close()\n`;
}, 60_000);

/** Gates the tests below open as they finish; opened here too, so a failed test leaves nothing running. */
const GATES = ["stats-held", "unordered-head", "held-1", "held-2", "aio-gate", "aio-never", "aio-abandoned", "aio-abandoned-old", "interrupted", "left-behind", "first", "map-head", "map-open"];

afterAll(async () => {
  for (const name of GATES) if (h !== undefined) fs.writeFileSync(path.join(h.dir, name), "");
  await h?.close();
});

/** Runs `body` after the prelude; it prints one JSON document last. */
function py(body: string, env: Record<string, string> = {}): Promise<any> {
  return pyJson(prelude + body, { env });
}

/** Inputs of `fn` that reached `outcome`, from the agent's metrics. */
async function counted(fn: string, outcome: "succeeded" | "failed" | "cancelled"): Promise<number> {
  const text = (await h.http.req("GET", "/metrics")).text;
  const m = new RegExp(`^warmpool_inputs_total\\{app="t",function="${fn}",outcome="${outcome}"\\} (\\d+)$`, "m").exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe("calls", () => {
  test("remote returns the result, with positional and keyword arguments", async () => {
    expect(await py("print(json.dumps([fn('square').remote(7), fn('echo').remote(1, [2], k={'a': None})]))")).toEqual([49, { args: [1, [2]], kwargs: { k: { a: null } } }]);
  });

  test("spawn is durable and its call can be fetched by id from another process", async () => {
    const spawned = await py("c = fn('square').spawn(8); print(json.dumps({'id': c.object_id, 'result': c.get()}))");
    expect(spawned).toEqual({ id: expect.stringMatching(/^fc-/), result: 64 });
    expect(await py(`print(json.dumps(FunctionCall.from_id(${JSON.stringify(spawned.id)}, client=agent).get()))`)).toBe(64);
  });

  test("get(timeout) gives up with CallTimeoutError; cancel stops a queued call and a running one's result", async () => {
    const out = await py(`
running = fn('gate').spawn('held-1')
queued = fn('gate').spawn('held-2')
out = {}
try: running.get(timeout=0.2)
except warmpool.CallTimeoutError as e: out['timeout'] = describe(e)
out['cancel'] = [queued.cancel(), queued.cancel()]
try: queued.get()
except warmpool.CallCancelled as e: out['queued'] = describe(e)
out['cancel_running'] = running.cancel()
try: running.get()
except warmpool.CallCancelled as e: out['running'] = describe(e)
open_gate('held-1')
out['after'] = fn('gate').remote('held-1')
print(json.dumps(out))`);
    expect(out.timeout).toMatchObject({ class: "CallTimeoutError", call_id: expect.stringMatching(/^fc-/), timeout: 0.2 });
    expect(out.timeout.mro).toContain("TimeoutError");
    expect(out.timeout.str).toMatch(/^call fc-\S+ is still (pending|running) after 0\.2 s$/);
    expect(out.cancel).toEqual([true, false]);
    expect(out.queued).toMatchObject({ class: "CallCancelled", type: "CallCancelled", message: "the call was cancelled" });
    expect(out.queued.mro).toEqual(expect.arrayContaining(["RemoteError", "WarmpoolError"]));
    expect(out.cancel_running).toBe(true);
    expect(out.running).toMatchObject({ class: "CallCancelled" });
    expect(out.after).toBe("held-1");
  });

  test("FunctionCall.gather returns the results in order", async () => {
    expect(await py("print(json.dumps(FunctionCall.gather(*[fn('square').spawn(i) for i in range(5)])))")).toEqual([0, 1, 4, 9, 16]);
  });
});

describe("map", () => {
  const inputs = "def inputs():\n    for i in range(1, 1201): yield i\n";
  const encode = "def encode(r): return {'error': [type(r).__name__, r.type, r.message, r.call_id[:3]]} if isinstance(r, Exception) else r\n";
  const expected = Array.from({ length: 1200 }, (_, k) => k + 1).map((i) => (i % 7 === 0 ? { error: ["ValueError", "ValueError", `multiple of 7: ${i}`, "fc-"] } : i * i));

  test("ordered, return_exceptions=True: 1,200 inputs from a generator, failures in their places", async () => {
    expect(await py(inputs + encode + "print(json.dumps([encode(r) for r in fn('picky').map(inputs(), return_exceptions=True)]))")).toEqual(expected);
  });

  test("unordered, return_exceptions=True: every result and failure once", async () => {
    const out = await py(inputs + encode + "print(json.dumps([encode(r) for r in fn('picky').map(inputs(), order_outputs=False, return_exceptions=True)]))");
    const key = (r: unknown): string => JSON.stringify(r);
    expect(out.map(key).sort()).toEqual(expected.map(key).sort());
  });

  test("ordered, return_exceptions=False: the results before the first failure, then it is raised", async () => {
    const out = await py(`${inputs}
got = []
try:
    for r in fn('picky').map(inputs()): got.append(r)
except ValueError as e: print(json.dumps({'got': got, 'error': describe(e)}))`);
    expect(out.got).toEqual([1, 4, 9, 16, 25, 36]);
    expect(out.error).toMatchObject({ class: "ValueError", type: "ValueError", message: "multiple of 7: 7" });
    expect(out.error.mro).toContain("RemoteError");
  });

  test("unordered, return_exceptions=False: raises the first failure to arrive, before the end", async () => {
    const out = await py(`${inputs}
got = []
try:
    for r in fn('picky').map(inputs(), order_outputs=False): got.append(r)
except ValueError as e: print(json.dumps({'got': len(got), 'error': e.message}))`);
    expect(out.error).toMatch(/^multiple of 7: \d+$/);
    expect(out.got).toBeLessThan(1200 - Math.floor(1200 / 7));
  });

  test("unordered: results come as they finish, not held behind a slow first input", async () => {
    fs.writeFileSync(path.join(h.dir, "map-open"), "");
    const run = startPython(`${prelude}for r in fn('window').map(['unordered-head'] + ['map-open'] * 5, order_outputs=False): print(r, flush=True)`);
    try {
      await until(
        "the five quick results",
        () =>
          run
            .output()
            .split("\n")
            .filter((l) => l === "map-open").length === 5,
      );
      expect(run.output()).not.toContain("unordered-head");
      fs.writeFileSync(path.join(h.dir, "unordered-head"), "");
      expect((await run.done).stdout.trim().split("\n")).toEqual([...Array(5).fill("map-open"), "unordered-head"]);
    } finally {
      run.child.kill();
      fs.writeFileSync(path.join(h.dir, "unordered-head"), "");
    }
  });

  test("several iterables are zipped, starmap spreads each item, kwargs go to every call", async () => {
    expect(await py("print(json.dumps([list(fn('echo').map([1, 2, 3], ['a', 'b'])), list(fn('echo').starmap([(1, 2), [3]], kwargs={'k': 'v'}))]))")).toEqual([
      [
        { args: [1, "a"], kwargs: {} },
        { args: [2, "b"], kwargs: {} },
      ],
      [
        { args: [1, 2], kwargs: { k: "v" } },
        { args: [3], kwargs: { k: "v" } },
      ],
    ]);
  });

  test("memory stays bounded: a slow head holds the map at the agent's window, and the generator is held back with it", async () => {
    const fn = h.agent.registry.lookup("t", "window");
    const port = await until("the window function's container", () => fn.status().readyReplicas === 1 && fn.pool.containers[0]?.handle?.port);
    const before = (await workerStats(port)).invocations;
    const total = 10_000; // of 4 KiB each: 40 MB of inputs, and as much of results
    fs.writeFileSync(path.join(h.dir, "map-open"), "");
    const run = startPython(`${prelude}
import tracemalloc
pad = 'x' * 4096
produced = 0
def inputs():
    global produced
    for i in range(${total}):
        produced += 1
        yield ('map-head' if i == 0 else 'map-open', [i, pad])
tracemalloc.start()
print('started', flush=True)
first = None
order = []
for r in fn('window').starmap(inputs()):
    if first is None: first = produced
    order.append(r[0])
print(json.dumps({'first': first, 'in_order': order == list(range(${total})), 'peak': tracemalloc.get_traced_memory()[1]}))`);
    await until("the client started", () => run.output().includes("started"));
    // Everything in the window behind the head has run; nothing can be written back before the head.
    await until("window full", async () => fn.load.inFlight === 1 && fn.lane.queued === 0 && (await workerStats(port)).invocations - before === WINDOW);
    for (let i = 0; i < 3; i++) expect((await h.http.req("GET", "/healthz")).status).toBe(200);
    expect((await workerStats(port)).invocations - before).toBe(WINDOW);
    fs.writeFileSync(path.join(h.dir, "map-head"), "");
    const result = await run.done;
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout.trim().split("\n").pop() as string);
    expect(out.in_order).toBe(true);
    expect(out.first).toBeLessThan(total / 2); // the generator waited for the head's result (about 1,100 here; the rest is socket buffers)
    expect(out.peak).toBeLessThan(8 * 1024 * 1024); // of 80 MB through the client (about 1 MB here)
  }, 120_000);

  test("spawn_map returns once every input is stored, each spawned with its arguments", async () => {
    const fn = h.agent.registry.lookup("t", "touch");
    const out = await py("print(json.dumps(fn('touch').spawn_map((f'sm-{i}' for i in range(1000)))))");
    const pending = fn.lane.pendingSpawns;
    const ran = fs.readdirSync(h.dir).filter((f) => f.startsWith("sm-")).length;
    expect(out).toBeNull();
    expect(pending + ran).toBeGreaterThanOrEqual(1000); // each was pending or had already run when it returned
    await until("every spawned input ran", () => fs.readdirSync(h.dir).filter((f) => f.startsWith("sm-")).length === 1000);
    await until("every spawned call succeeded", async () => (await counted("touch", "succeeded")) >= 1000);
    expect(await counted("touch", "succeeded")).toBe(1000);
  });
});

describe("get_current_stats", () => {
  test("the backlog (waiting inputs, not running ones) and the containers, blocking and .aio", async () => {
    // gate: one container, one input at a time. Three held calls: one runs, two wait.
    const out = await py(`
f = fn('gate')
calls = [f.spawn('stats-held') for _ in range(3)]
import time
deadline = time.monotonic() + 30   # then the assertion shows what it saw
s = f.get_current_stats()
while (s.backlog, s.num_total_runners) != (2, 1) and time.monotonic() < deadline:   # until the container is up and runs the first
    s = f.get_current_stats()
out = {"stats": list(s), "fields": list(s._fields), "aio": list(asyncio.run(f.get_current_stats.aio()))}
open_gate('stats-held')
for c in calls:
    c.get()
out["after"] = list(f.get_current_stats())
print(json.dumps(out))`);
    expect(out).toEqual({ stats: [2, 1], fields: ["backlog", "num_total_runners"], aio: [2, 1], after: [0, 1] });
  });
});

describe("for_each", () => {
  test("runs every input and returns None once each has ended; raises the first failure unless ignore_exceptions", async () => {
    const out = await py(`
out = {"none": fn('touch').for_each((f'fe-{i}' for i in range(50)))}
try:
    fn('picky').for_each([1, 7, 2])
except Exception as e:
    out['raised'] = type(e).__name__
out['ignored'] = fn('picky').for_each([7, 14], ignore_exceptions=True)
async def main():
    return await fn('touch').for_each.aio(['fe-aio'])
out['aio'] = asyncio.run(main())
print(json.dumps(out))`);
    expect(out).toEqual({ none: null, raised: "ValueError", ignored: null, aio: null });
    // Every input had run when it returned: nothing waited for.
    expect(
      fs
        .readdirSync(h.dir)
        .filter((f) => f.startsWith("fe-"))
        .sort(),
    ).toEqual([...Array.from({ length: 50 }, (_, i) => `fe-${i}`), "fe-aio"].sort());
  });
});

describe("asyncio", () => {
  test("every method has .aio, and it leaves the event loop free while the agent works", async () => {
    const out = await py(`
async def main():
    out = {}
    async def open_later():
        open_gate('aio-gate')  # runs only if the call below yields the loop while it waits
    out['gated'], _ = await asyncio.wait_for(asyncio.gather(fn('gate').remote.aio('aio-gate'), open_later()), 30)
    out['remote'] = await fn('square').remote.aio(6)
    out['concurrent'] = await asyncio.gather(*[fn('square').remote.aio(i) for i in range(20)])
    call = await fn('square').spawn.aio(5)
    out['get'] = await call.get.aio()
    out['cancel'] = await (await fn('gate').spawn.aio('aio-never')).cancel.aio()
    async def agen():
        for i in range(300): yield i
    out['map'] = [x async for x in fn('square').map.aio(agen())]
    out['unordered'] = sorted([x async for x in fn('square').map.aio(range(300), order_outputs=False)])
    out['failures'] = [type(x).__name__ async for x in fn('picky').map.aio([1, 7], return_exceptions=True)]
    out['starmap'] = [x async for x in fn('echo').starmap.aio([(1, 2), (3, 4)], kwargs={'k': 1})]
    out['spawn_map'] = await fn('touch').spawn_map.aio(f'aio-{i}' for i in range(5))
    out['gather'] = await FunctionCall.gather.aio(*[await fn('square').spawn.aio(i) for i in range(3)])
    out['blocking_inside_a_loop'] = fn('square').remote(9)  # as in a notebook: it blocks this loop, and works
    return out
print(json.dumps(asyncio.run(main())))`);
    expect(out).toEqual({
      gated: "aio-gate",
      remote: 36,
      concurrent: Array.from({ length: 20 }, (_, i) => i * i),
      get: 25,
      cancel: true,
      map: Array.from({ length: 300 }, (_, i) => i * i),
      unordered: Array.from({ length: 300 }, (_, i) => i * i),
      failures: ["int", "ValueError"],
      starmap: [
        { args: [1, 2], kwargs: { k: 1 } },
        { args: [3, 4], kwargs: { k: 1 } },
      ],
      spawn_map: null,
      gather: [0, 1, 4],
      blocking_inside_a_loop: 81,
    });
    fs.writeFileSync(path.join(h.dir, "aio-never"), ""); // in case it had started before it was cancelled
    await until("the aio spawn_map ran", () => [0, 1, 2, 3, 4].every((i) => fs.existsSync(path.join(h.dir, `aio-${i}`))));
  });

  // On the oldest Python too: there a connection dropped without close() stays open (3.11 and
  // later close it when its StreamWriter is collected).
  test.each([["python3", "aio-abandoned"], ...(OLD === null ? [] : [[OLD, "aio-abandoned-old"]])])(
    "a cancelled task closes its connection, and the agent cancels the call (%s)",
    async (python, gate) => {
      const before = await counted("gate", "cancelled");
      const run = startPython(
        `${prelude}
async def main():
    try: await asyncio.wait_for(fn('gate').remote.aio('${gate}'), 1)
    except asyncio.TimeoutError: print('timed out', flush=True)
    # The loop goes on until the test is done: the connection is closed by the cancellation, not
    # by the loop's end or the process's.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())`,
        { keepStdin: true, python },
      );
      try {
        await until("the call timed out", () => run.output().includes("timed out"));
        await until("the agent cancelled the abandoned call", async () => (await counted("gate", "cancelled")) === before + 1);
        run.child.stdin!.end();
        expect((await run.done).code).toBe(0);
      } finally {
        run.child.kill();
        fs.writeFileSync(path.join(h.dir, gate), "");
      }
    },
  );
});

describe("interrupts", () => {
  // Each client stays alive (reading stdin) until the agent has cancelled: the connection is closed
  // by the client giving up, not by the process exiting.
  test("Ctrl-C during a blocking remote closes the connection, and the agent cancels the call", async () => {
    const gate = h.agent.registry.lookup("t", "gate");
    const before = await counted("gate", "cancelled");
    await until("gate idle", () => gate.load.inFlight === 0 && gate.lane.queued === 0);
    const run = startPython(
      `${prelude}print('calling', flush=True)
try: fn('gate').remote('interrupted')
except KeyboardInterrupt: print('interrupted', flush=True)
sys.stdin.read()`,
      { keepStdin: true },
    );
    try {
      await until("the call is running", () => run.output().includes("calling") && gate.load.inFlight === 1);
      run.child.kill("SIGINT");
      await until("the client was interrupted", () => run.output().includes("interrupted"));
      await until("the agent cancelled it", async () => (await counted("gate", "cancelled")) === before + 1);
      run.child.stdin!.end();
      expect((await run.done).code).toBe(0);
    } finally {
      run.child.kill();
      fs.writeFileSync(path.join(h.dir, "interrupted"), "");
    }
  });

  test("leaving a map early cancels its inputs still queued", async () => {
    const before = await counted("gate", "cancelled");
    fs.writeFileSync(path.join(h.dir, "first"), "");
    const run = startPython(`${prelude}it = fn('gate').map(['first'] + ['left-behind'] * 20)\nprint(next(it), flush=True)\nit.close()\nsys.stdin.read()`, { keepStdin: true });
    try {
      await until("the first result", () => run.output().includes("first"));
      await until("the agent cancelled the rest", async () => (await counted("gate", "cancelled")) === before + 20);
      run.child.stdin!.end();
      expect((await run.done).code).toBe(0);
    } finally {
      run.child.kill();
      fs.writeFileSync(path.join(h.dir, "left-behind"), ""); // the one running keeps running until then
    }
  });
});

describe("classes", () => {
  test("Cls.from_name(app, name)() resolves each method to the function whose handler is <module>:Class.method", async () => {
    const out = await py(`
m = Cls.from_name('t', 'Model', client=agent)()
async def aio(): return await m.twice.remote.aio(21)
print(json.dumps([m.add.remote(1), m.twice.remote(4), list(m.add.map([1, 2])), asyncio.run(aio()), Cls.from_name('t', 'handlers:Model', client=agent)().add.remote(0)]))`);
    expect(out).toEqual([101, 8, [101, 102], 42, 100]);
  });

  test("a missing method or class is NotFoundError naming what there is; parameters for a class served a method per function are refused", async () => {
    const out = await py(`
out = {}
try: Cls.from_name('t', 'Model', client=agent)().nope.remote(1)
except warmpool.NotFoundError as e: out['method'] = describe(e)
try: Cls.from_name('t', 'Nope', client=agent)().add.remote(1)
except warmpool.NotFoundError as e: out['class'] = describe(e)
try: Cls.from_name('t', 'Model', client=agent)(size=3).add.remote(1)
except warmpool.InvalidError as e: out['params'] = describe(e)
print(json.dumps(out))`);
    expect(out.method.str).toBe("404 WP_ERR_FUNCTION_NOT_FOUND: class 'Model' of app 't' has no method 'nope'; its methods: add, twice");
    expect(out.method.functions).toEqual(["model-add", "model-twice"]);
    expect(out.class.str).toBe("404 WP_ERR_FUNCTION_NOT_FOUND: app 't' has no class 'Nope' (no function's handler is <module>:Nope.<method>); its classes: Model (add, twice)");
    expect(out.params.str).toBe(
      "Model(size=3): app 't' serves Model one method per function (module:Model.method), which takes no parameters; deploy the class as one function with handler module:Model to use parameters",
    );
    expect(out.params.mro).toContain("ValueError");
  });
});

describe("errors", () => {
  test("a remote exception keeps its type, message, traceback and call id, is caught as its built-in type, and survives pickling", async () => {
    const out = await py(`
try: fn('boom').remote(3)
except ValueError as e: print(json.dumps({**describe(e), 'pickled': describe(pickle.loads(pickle.dumps(e)))}))`);
    expect(out).toMatchObject({ class: "ValueError", type: "ValueError", message: "bad input 3", call_id: expect.stringMatching(/^fc-/) });
    expect(out.mro).toEqual(expect.arrayContaining(["ValueError", "RemoteError", "WarmpoolError"]));
    expect(out.traceback).toContain('raise ValueError("bad input %r" % (x,))');
    expect(out.str).toContain(`bad input 3 (call ${out.call_id})\n\nRemote traceback:\nTraceback (most recent call last):`);
    const { pickled, ...original } = out;
    expect(pickled).toEqual(original);
  });

  test("the agent's own failures: FunctionTimeoutError, ContainerCrashed, ContainerStartupError", async () => {
    const out = await py(`
out = {}
for name, args in (('slow', [30]), ('die', []), ('broken', [])):
    try: fn(name).remote(*args)
    except warmpool.RemoteError as e: out[name] = describe(e)
print(json.dumps(out))`);
    expect(out.slow).toMatchObject({ class: "FunctionTimeoutError", type: "FunctionTimeoutError" });
    expect(out.slow.mro).toContain("TimeoutError");
    expect(out.die).toMatchObject({ class: "ContainerCrashed", type: "ContainerCrashed" });
    expect(out.broken).toMatchObject({ class: "ContainerStartupError", type: "ContainerStartupError" });
  });

  test("NotFoundError lists the app's functions, or the agent's apps; an unknown call id is one too", async () => {
    const out = await py(`
out = {}
try: fn('nope').remote()
except warmpool.NotFoundError as e: out['function'] = describe(e)
try: Function.from_name('elsewhere', 'x', client=agent).spawn()
except warmpool.NotFoundError as e: out['app'] = describe(e)
try: list(Function.from_name('elsewhere', 'x', client=agent).map([1]))
except warmpool.NotFoundError as e: out['map'] = describe(e)
try: FunctionCall.from_id('fc-nope', client=agent).get()
except LookupError as e: out['call'] = describe(e)
print(json.dumps(out))`);
    expect(out.function.str).toBe(`404 WP_ERR_FUNCTION_NOT_FOUND: app "t" has no function "nope"; its functions: ${Object.keys(FUNCTIONS).join(", ")}`);
    expect(out.function.functions).toEqual(Object.keys(FUNCTIONS));
    expect(out.app.str).toBe(`404 WP_ERR_APP_NOT_FOUND: app "elsewhere" is not deployed; apps on ${h.url}: t`);
    expect(out.map.str).toBe(out.app.str);
    expect(out.call).toMatchObject({ class: "NotFoundError", code: "WP_ERR_CALL_NOT_FOUND", status: 404 });
  });

  test("AuthError names the agent and where the token came from, or where none was found", async () => {
    const code = `${PY_COMMON}\ntry: Function.from_name('t', 'square').remote(1)\nexcept warmpool.AuthError as e: print(json.dumps(describe(e)))`;
    const cwd = scratchDir("noauth");
    const none = await pyJson(code, { env: { WARMPOOL_URL: h.url }, cwd });
    expect(none).toMatchObject({ class: "AuthError", status: 401, code: "WP_ERR_UNAUTHORIZED" });
    expect(none.str).toContain(`(agent ${h.url}; no token found (looked at WARMPOOL_TOKEN, ${cwd}/.warmpool/token, `);
    expect(none.mro).toContain("PermissionError");
    const wrong = await pyJson(code, { env: { WARMPOOL_URL: h.url, WARMPOOL_TOKEN: "not-it" } });
    expect(wrong).toMatchObject({ class: "AuthError", status: 403, code: "WP_ERR_FORBIDDEN" });
    expect(wrong.str).toBe(`403 WP_ERR_FORBIDDEN: the bearer token is not valid for this agent (agent ${h.url}; token from WARMPOOL_TOKEN)`);
  });

  test("AgentUnavailableError names the URL and where it came from, after the retries", async () => {
    const out = await py(`
import socket
from warmpool.client.transport import Options
probe = socket.socket(); probe.bind(('127.0.0.1', 0)); port = probe.getsockname()[1]; probe.close()
out = {'port': port}
try: Function.from_name('t', 'square', client=Client(f'http://127.0.0.1:{port}', 'x', options=Options(retries=2, retry_delay=0.01))).remote(1)
except ConnectionError as e: out['argument'] = describe(e)
os.environ['WARMPOOL_URL'] = f'http://127.0.0.1:{port}'
try: Function.from_name('t', 'square', client=Client(options=Options(retries=0))).remote(1)
except warmpool.AgentUnavailableError as e: out['env'] = describe(e)
print(json.dumps(out))`);
    expect(out.argument.class).toBe("AgentUnavailableError");
    expect(out.argument.str).toMatch(new RegExp(`^cannot reach the agent at http://127\\.0\\.0\\.1:${out.port} \\(URL from the url argument\\): .*; tried 3 times$`));
    expect(out.env.str).toMatch(new RegExp(`^cannot reach the agent at http://127\\.0\\.0\\.1:${out.port} \\(URL from WARMPOOL_URL\\): .*; tried 1 time$`));
  });

  test("arguments that are neither JSON, bytes nor picklable are refused before anything is sent", async () => {
    const out = await py(`
import threading
out = []
for args in ([threading.Lock()], [float('nan')]):
    try: Function.from_name('t', 'square', client=Client('http://127.0.0.1:9', 'x')).remote(*args)
    except warmpool.InvalidError as e: out.append(describe(e)['str'])
print(json.dumps(out))`);
    expect(out).toEqual([
      "arguments must be JSON values (dict, list, str, int, float, bool, None), bytes, or picklable: lock is neither JSON nor picklable (cannot pickle '_thread.lock' object)",
      "arguments must be JSON values (dict, list, str, int, float, bool, None), bytes, or picklable: Out of range float values are not JSON compliant",
    ]);
  });
});

describe("the package", () => {
  const old = OLD;
  (old === null ? test.skip : test)(`works on the oldest Python it supports (${old ?? "none on this machine"})`, async () => {
    const out = await pyJson(
      `${prelude}
async def aio(): return [await fn('square').remote.aio(3), [x async for x in fn('square').map.aio(range(3))]]
try: fn('boom').remote(1)
except ValueError as e: error = describe(e)['class']
print(json.dumps({'version': list(sys.version_info[:2]), 'remote': fn('square').remote(7), 'map': list(fn('square').map(range(4), order_outputs=False)), 'get': fn('square').spawn(5).get(), 'aio': asyncio.run(aio()), 'error': error}))`,
      { python: old ?? "python3" },
    );
    expect(out.version[1]).toBeLessThan(11);
    expect({ ...out, map: [...out.map].sort((a: number, b: number) => a - b) }).toEqual({ version: out.version, remote: 49, map: [0, 1, 4, 9], get: 25, aio: [9, [0, 1, 4]], error: "ValueError" });
  });

  test("importing warmpool, and starting a worker, does not load the client", async () => {
    const local = await pyJson("import json, sys, warmpool\nbefore = 'warmpool.client' in sys.modules\nwarmpool.Function\nprint(json.dumps([before, 'warmpool.client' in sys.modules]))");
    expect(local).toEqual([false, true]);
    const inWorker = await py("print(json.dumps(fn('modules').remote()))");
    expect(inWorker).toContain("warmpool.loader"); // the worker's own modules (it runs as __main__)
    expect(inWorker.filter((m: string) => m.startsWith("warmpool.client"))).toEqual([]);
  });

  test("a child made by fork calls through a loop of its own", async () => {
    const out = await py(`
import signal; signal.alarm(30)  # a child waiting on a loop that is not there would hang: fail instead
first = fn('square').remote(2)  # the parent's background loop is running now
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, json.dumps(fn('square').remote(3)).encode()); os._exit(0)
os.waitpid(pid, 0)
print(json.dumps([first, json.loads(os.read(read, 100)), fn('square').remote(4)]))`);
    expect(out).toEqual([4, 9, 16]);
  });

  test("a progress bar on stderr when it is a terminal, nothing when it is not", async () => {
    const out = await py(`
import pty
master, slave = pty.openpty()
sys.stderr = os.fdopen(slave, 'w')
results = list(fn('square').map(range(50)))
fn('touch').spawn_map(['progress-' + str(i) for i in range(3)])
sys.stderr.write('<end>'); sys.stderr.flush()
tty = b''
while b'<end>' not in tty: tty += os.read(master, 65536)  # a pty hands its output over in pieces
print(json.dumps({'results': len(results), 'tty': tty.decode()}))`);
    expect(out.results).toBe(50);
    expect(out.tty).toContain("square [########################] 50/50 done");
    expect(out.tty).toContain("touch [########################] 3/3 spawned");
    const piped = await runPython(`${prelude}list(fn('square').map(range(50)))`);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe("");
  });
});

describe("the agent's limits", () => {
  let limited: Harness;

  beforeAll(async () => {
    limited = await startAgent({ held: { handler: "handlers:gate", concurrency: { maxInputs: 1 }, autoscaler: { maxContainers: 1 } } }, { app: "lim", maxPendingInputs: 3, maxPendingSpawns: 4 });
  }, 60_000);

  afterAll(async () => {
    for (const name of ["held-0", "held-1", "held-2", "held-3", "held-4", "held-5", "held-x"]) if (limited !== undefined) fs.writeFileSync(path.join(limited.dir, name), "");
    await limited?.close();
  });

  test("remote raises TooManyPendingError on a 429; spawn_map waits it out and says so", async () => {
    const held = limited.agent.registry.lookup("lim", "held");
    const prelude = clientPrelude(limited.url, TOKEN, "lim");
    const spawning = startPython(`${prelude}print(json.dumps(fn('held').spawn_map([f'held-{i}' for i in range(6)])))`);
    await until("spawn_map was refused and is waiting", () => spawning.errors().includes("warmpool: spawn_map is waiting for the agent to take more"));
    expect(held.lane.pendingSpawns).toBe(4);
    const refused = await pyJson(`${prelude}try: fn('held').remote('held-x')\nexcept warmpool.TooManyPendingError as e: print(json.dumps(describe(e)))`);
    expect(refused).toMatchObject({ class: "TooManyPendingError", status: 429, code: "WP_ERR_TOO_MANY_PENDING", retry_after: 1 });
    expect(refused.str).toMatch(/^429 WP_ERR_TOO_MANY_PENDING: function "lim\/held" already has [34] pending inputs \(limit 3\); retry later$/);
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(limited.dir, `held-${i}`), "");
    const done = await spawning.done;
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe("null");
    await until("all six ran", () => held.lane.pendingSpawns === 0);
  });
});
