/**
 * The worker protocol (agent/runtimes/PROTOCOL.md), checked against real worker processes of both
 * runtimes over real HTTP. The fixtures in fixtures/{python,node} define the same handlers.
 */
import fs from "node:fs";
import http from "node:http";
import { WorkerProcess, type Runtime, type StartOptions } from "./worker-process";

// Each test starts a process; a Python interpreter can take a second or two to start on a loaded CI box.
jest.setTimeout(20_000);

const started: WorkerProcess[] = [];

async function start(runtime: Runtime, options: StartOptions): Promise<WorkerProcess> {
  const worker = await WorkerProcess.start(runtime, options);
  started.push(worker);
  return worker;
}

async function startReady(runtime: Runtime, options: StartOptions): Promise<WorkerProcess> {
  const worker = await start(runtime, options);
  await worker.ready();
  return worker;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.dispose()));
});

describe.each<Runtime>(["python", "node"])("%s runtime", (runtime) => {
  it("answers a plain call and counts it", async () => {
    const worker = await startReady(runtime, { handler: "handlers:square" });
    expect(await worker.request("GET", "/ready")).toEqual({ status: 200, body: { ready: true } });
    expect(await worker.invoke({ id: "in-1", args: [7] })).toEqual([{ id: "in-1", ok: true, value: 49 }]);
    expect(await worker.stats()).toEqual({ inFlight: 0, maxInFlight: 1, invocations: 1, batches: 0, maxBatch: 0 });
  });

  it("awaits async handlers", async () => {
    const worker = await startReady(runtime, { handler: "handlers:halve" });
    expect(await worker.call(9)).toBe(4.5);
  });

  it("passes keyword arguments", async () => {
    const worker = await startReady(runtime, { handler: "handlers:scaled" });
    expect(await worker.invoke({ id: "in-1", args: [3], kwargs: { factor: 4 } })).toEqual([{ id: "in-1", ok: true, value: 12 }]);
    expect(await worker.call(3)).toBe(3);
  });

  it("runs enter once per container, shares the instance across calls and runs exit on SIGTERM", async () => {
    const worker = await startReady(runtime, { handler: "handlers:Counter.increment" });
    expect(await worker.call()).toBe(1);
    expect(await worker.call()).toBe(2);
    expect(await worker.call()).toBe(3);
    expect(fs.readFileSync(worker.file("enter-log"), "utf8")).toBe("enter\n");

    worker.signal("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(fs.readFileSync(worker.file("exit-hook"), "utf8"))).toEqual({ count: 3 });
    expect(worker.stderr).toMatch(/\[warmpool\] exited with status 0/);
  });

  it("calls a batched handler once with each argument as a list", async () => {
    const worker = await startReady(runtime, { handler: "handlers:lengths", batchSize: 4 });
    const outputs = await worker.invoke({ id: "a", args: ["x"], kwargs: { scale: 1 } }, { id: "b", args: ["xyz"], kwargs: { scale: 2 } }, { id: "c", args: [""], kwargs: { scale: 3 } });
    expect(outputs).toEqual([
      { id: "a", ok: true, value: 1 },
      { id: "b", ok: true, value: 6 },
      { id: "c", ok: true, value: 0 },
    ]);
    expect(await worker.stats()).toEqual({ inFlight: 0, maxInFlight: 3, invocations: 3, batches: 1, maxBatch: 3 });

    const tooMany = Array.from({ length: 5 }, (_, index) => ({ id: `in-${index}`, args: ["x"], kwargs: { scale: 1 } }));
    const reply = await worker.request("POST", "/invoke", JSON.stringify({ inputs: tooMany }));
    expect(reply.status).toBe(400);
    expect(reply.body.error.type).toBe("BadRequest");
  });

  it("fails every input of a batch whose result has another length", async () => {
    const worker = await startReady(runtime, { handler: "handlers:truncate", batchSize: 4 });
    const outputs = await worker.invoke({ id: "a", args: [1] }, { id: "b", args: [2] });
    expect(outputs.map((output) => [output.id, output.ok, output.error?.type])).toEqual([
      ["a", false, "BatchSizeMismatch"],
      ["b", false, "BatchSizeMismatch"],
    ]);
    expect(outputs[0].error!.message).toMatch(/1 results.*2 inputs/);
  });

  it("fails every input of a batch whose inputs disagree on their arguments", async () => {
    const worker = await startReady(runtime, { handler: "handlers:truncate", batchSize: 4 });
    const outputs = await worker.invoke({ id: "a", args: [1] }, { id: "b", args: [2, 3] });
    expect(outputs.map((output) => output.error?.type)).toEqual(["BatchArgumentMismatch", "BatchArgumentMismatch"]);
  });

  it("returns exceptions with their type, message and traceback", async () => {
    const worker = await startReady(runtime, { handler: "handlers:fail" });
    const [output] = await worker.invoke({ id: "in-1", args: ["bad input"] });
    expect(output).toMatchObject({ id: "in-1", ok: false, error: { type: "ValueError", message: "bad input" } });
    const { traceback } = output.error!;
    if (runtime === "python") {
      expect(traceback).toMatch(/^Traceback \(most recent call last\):\n {2}File ".*handlers\.py", line \d+, in fail\n/);
      expect(traceback).toMatch(/ValueError: bad input\n$/);
    } else {
      expect(traceback).toMatch(/^Error: bad input\n +at .*handlers\.js:\d+:\d+/);
    }
    // The runtime's own frames below the handler are cut.
    expect(traceback).not.toMatch(/runtimes[/\\](python|node)/);
  });

  it("reports a result that is not JSON as a SerializationError", async () => {
    const worker = await startReady(runtime, { handler: "handlers:opaque" });
    const [output] = await worker.invoke({ id: "in-1" });
    expect(output).toMatchObject({ ok: false, error: { type: "SerializationError" } });
  });

  it("runs inputs concurrently and measures maxInFlight exactly", async () => {
    const parties = 6;
    const worker = await startReady(runtime, { handler: "handlers:gather", maxInputs: parties });
    // gather returns only when all `parties` calls are inside the handler at once.
    const values = await Promise.all(Array.from({ length: parties }, () => worker.call(parties)));
    expect(values).toEqual(Array(parties).fill(parties));
    expect(await worker.stats()).toEqual({ inFlight: 0, maxInFlight: parties, invocations: parties, batches: 0, maxBatch: 0 });
  });

  it("answers /ready 503 until a slow enter hook has finished", async () => {
    const worker = await start(runtime, { handler: "handlers:SlowStart.ping" });
    expect(await worker.untilListening()).toEqual({ status: 503, body: { ready: false } });
    const early = await worker.request("POST", "/invoke", JSON.stringify({ inputs: [{ id: "in-1" }] }));
    expect(early).toEqual({ status: 503, body: { error: { type: "NotReady", message: expect.any(String) } } });
    expect(await worker.request("GET", "/ready")).toEqual({ status: 503, body: { ready: false } });

    fs.writeFileSync(worker.file("enter-go"), "");
    await worker.ready();
    expect(await worker.request("GET", "/ready")).toEqual({ status: 200, body: { ready: true } });
    expect(await worker.call()).toBe("pong");
  });

  it("exits 3 with the traceback when the module fails to import", async () => {
    const worker = await start(runtime, { handler: "broken:anything" });
    expect(await worker.exited).toEqual({ code: 3, signal: null });
    expect(worker.stderr).toMatch(
      runtime === "python" ? /Traceback[\s\S]*ImportError: missing_dependency is not installed/ : /Cannot find module 'missing-dependency-that-is-not-installed'[\s\S]*broken\.js/,
    );
    expect(worker.stderr).toMatch(/\[warmpool\] broken:anything failed to start/);
  });

  it("exits 3 with the traceback when an enter hook fails", async () => {
    const worker = await start(runtime, { handler: "handlers:BrokenEnter.ping" });
    expect(await worker.exited).toEqual({ code: 3, signal: null });
    expect(worker.stderr).toMatch(/weights not found/);
    expect(worker.stderr).toMatch(/handlers\.(py|js)/);
  });

  it("exits 3 when the handler names nothing", async () => {
    const worker = await start(runtime, { handler: "handlers:Counter.missing" });
    expect(await worker.exited).toEqual({ code: 3, signal: null });
    expect(worker.stderr).toMatch(/missing/);
  });

  it("answers 400 to malformed requests and keeps serving the connection", async () => {
    const worker = await startReady(runtime, { handler: "handlers:square" });
    const malformed = [
      "{not json",
      JSON.stringify([1, 2]),
      JSON.stringify({ inputs: [] }),
      JSON.stringify({ inputs: [{ id: 1, args: [] }] }),
      JSON.stringify({ inputs: [{ id: "a", args: {} }] }),
      JSON.stringify({
        inputs: [
          { id: "a", args: [1] },
          { id: "b", args: [2] },
        ],
      }),
    ];
    for (const body of malformed) {
      const reply = await worker.request("POST", "/invoke", body);
      expect([body, reply.status, reply.body.error?.type]).toEqual([body, 400, "BadRequest"]);
    }
    expect((await worker.request("GET", "/nowhere")).status).toBe(404);
    expect((await worker.request("GET", "/invoke")).status).toBe(405);
    expect(await worker.call(5)).toBe(25);
    expect((await worker.stats()).invocations).toBe(1);
  });

  it("reads a chunked request body", async () => {
    const worker = await startReady(runtime, { handler: "handlers:square" });
    const reply = await new Promise<string>((resolve, reject) => {
      // No Content-Length: Node sends each write() as a chunk.
      const request = http.request({ host: "127.0.0.1", port: worker.port, method: "POST", path: "/invoke", agent: false }, (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        response.once("end", () => resolve(text));
      });
      request.once("error", reject);
      request.write('{"inputs": [{"id": "in-1", ');
      request.end('"args": [12]}]}');
    });
    expect(JSON.parse(reply)).toEqual({ outputs: [{ id: "in-1", ok: true, value: 144 }] });
  });

  it("finishes the input in flight on SIGTERM before running exit hooks and exiting", async () => {
    const worker = await startReady(runtime, { handler: "handlers:Counter.hold" });
    const inFlight = worker.invoke({ id: "held", args: ["release"] });
    while ((await worker.stats()).inFlight !== 1);

    worker.signal("SIGTERM");
    await worker.untilRefusing();
    expect(fs.existsSync(worker.file("exit-hook"))).toBe(false);
    fs.writeFileSync(worker.file("release"), "");

    expect(await inFlight).toEqual([{ id: "held", ok: true, value: 1 }]);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(fs.readFileSync(worker.file("exit-hook"), "utf8"))).toEqual({ count: 1 });
  });

  it("shuts down on POST /shutdown", async () => {
    const worker = await startReady(runtime, { handler: "handlers:Counter.increment" });
    expect(await worker.request("POST", "/shutdown")).toEqual({ status: 202, body: { shuttingDown: true } });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(fs.readFileSync(worker.file("exit-hook"), "utf8"))).toEqual({ count: 0 });
  });
});

describe("python runtime, async handlers", () => {
  it("runs async inputs concurrently on one event loop", async () => {
    const parties = 5;
    const worker = await startReady("python", { handler: "handlers:agather", maxInputs: parties });
    const values = await Promise.all(Array.from({ length: parties }, () => worker.call(parties)));
    expect(values).toEqual(Array(parties).fill(parties));
    expect((await worker.stats()).maxInFlight).toBe(parties);
  });
});

describe("node runtime, module formats", () => {
  it("loads an ES module, its extension left out", async () => {
    const worker = await startReady("node", { handler: "esm:cube" });
    expect(await worker.call(3)).toBe(27);
  });
});
