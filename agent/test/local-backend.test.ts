/**
 * The local backend: a worker gets exactly the environment PROTOCOL.md lists (never the agent's own
 * variables), GPUs are handed out whole through CUDA_VISIBLE_DEVICES and returned on exit, and a
 * container that cannot start is retried with backoff and, after repeated failures, fails the inputs
 * waiting for it with the container's output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { request } from "undici";
import { LocalBackend } from "../src/backends/local/local";
import { GpuAllocator } from "../src/backends/local/gpus";
import { compileFunction } from "../src/config/function";
import { validateApp } from "../src/spec/load";
import { fixtureVolume, RUNTIMES, startAgent, tempDir, type Harness } from "./helpers";

describe("GpuAllocator", () => {
  test("hands out whole GPUs and takes them back", () => {
    const gpus = new GpuAllocator(["0", "1", "2"]);
    expect(gpus.take(2)).toEqual(["0", "1"]);
    expect(gpus.take(2)).toBeUndefined();
    expect(gpus.take(0)).toEqual([]);
    gpus.release(["1"]);
    expect(gpus.take(2)).toEqual(["1", "2"]);
  });
});

describe("worker environment", () => {
  let h: Harness;
  const state = tempDir("env");

  beforeAll(async () => {
    process.env.AGENT_SECRET_FOR_TEST = "must-not-leak";
    const backend = new LocalBackend({ stateDir: state, logDir: path.join(state, "logs"), runtimesDir: RUNTIMES, python: "python3", node: process.execPath, gpus: new GpuAllocator(["3", "5"]) });
    h = await startAgent(
      {
        // Node, not Python: a pyenv shim in front of python3 adds variables of its own.
        cpu: { handler: "handlers:environ", runtime: "node", env: { GREETING: "hi" } },
        gpu: { handler: "handlers:environ", gpu: "T4:2" },
        broken: { handler: "handlers:does_not_exist" },
      },
      {},
      { backend },
    );
  }, 30_000);

  afterAll(async () => {
    delete process.env.AGENT_SECRET_FOR_TEST;
    await h?.close();
  });

  test("only the variables of PROTOCOL.md, the function's env, and PATH/HOME/LANG", async () => {
    const env = (await h.http.call("t", "cpu", [])).body.result as Record<string, string>;
    expect(env.AGENT_SECRET_FOR_TEST).toBeUndefined();
    expect(env).toMatchObject({
      WARMPOOL_PROTOCOL: "1",
      WARMPOOL_HOST: "127.0.0.1",
      WARMPOOL_HANDLER: "handlers:environ",
      WARMPOOL_MAX_INPUTS: "1",
      WARMPOOL_BATCH_SIZE: "0",
      WARMPOOL_CONTAINER_ID: expect.stringMatching(/^cpu-/),
      GREETING: "hi",
    });
    const allowed = new Set(["PATH", "HOME", "LANG", "GREETING", "FIXTURE_DIR"]);
    expect(Object.keys(env).filter((key) => !key.startsWith("WARMPOOL_") && !allowed.has(key))).toEqual([]);
    expect(env.CUDA_VISIBLE_DEVICES).toBeUndefined();
  });

  test("a GPU function gets its GPUs through CUDA_VISIBLE_DEVICES", async () => {
    const env = (await h.http.call("t", "gpu", [])).body.result as Record<string, string>;
    expect(env.CUDA_VISIBLE_DEVICES).toBe("3,5");
    expect(h.agent.backend.list().find((c) => c.fn === "t/gpu")?.gpus).toEqual(["3", "5"]);
  });

  test("a handler that cannot import fails its waiting inputs after one start, with its traceback less the runtime's frames, and is not retried on its own", async () => {
    const r = await h.http.call("t", "broken", []);
    expect(r.body.status).toBe("failed");
    expect(r.body.error.type).toBe("ContainerStartupError");
    expect(r.body.error.message).toMatch(/^t\/broken cannot start: container broken-[0-9a-f]+ exited with status 3 before it was ready$/);
    expect(r.body.error.traceback).toContain("does_not_exist");
    expect(r.body.error.traceback).not.toMatch(/warmpool[\\/](worker|loader)\.py|importlib|\[warmpool\]/);
    const status = await h.http.status("t", "broken");
    expect(status.status).toMatchObject({ startFailures: 1, startFailureRepeats: true, lastStartError: expect.stringContaining("exited with status 3") });
    // Nothing waits: the autoscaler starts nothing more. The next input tries once more, and fails the same way.
    expect(status.containers.filter((c: { state: string }) => c.state === "starting")).toEqual([]);
    const again = await h.http.call("t", "broken", []);
    expect(again.body.error.message).toContain("cannot start");
    expect((await h.http.status("t", "broken")).status.startFailures).toBe(2);
  }, 30_000);
});

describe("stopping a sandboxed worker", () => {
  // The agent's child is bwrap, which forwards no signal: the backend signals the worker inside itself.
  test("stop() reaches the worker with SIGTERM: it runs its exit hooks and exits 0; a stop without grace kills the whole sandbox", async () => {
    const state = tempDir("stop");
    const backend = new LocalBackend({ stateDir: state, logDir: path.join(state, "logs"), runtimesDir: RUNTIMES, python: "python3", node: process.execPath, gpus: new GpuAllocator([]) });
    try {
      const fx = fixtureVolume(state, "s");
      const app = validateApp({ name: "s", functions: { c: { handler: "handlers:Counter.increment", ...fx.spec } } }, "stop test", path.join(__dirname, "runtimes", "fixtures", "python"));
      const fn = compileFunction(app.functions[0]!, app.appDir);
      const graceful = await backend.start(fn, "c-1");
      await backend.ready(graceful, 20_000);
      const res = await request(`http://127.0.0.1:${graceful.port}/invoke`, { method: "POST", body: JSON.stringify({ inputs: [{ id: "i", args: [] }] }) });
      expect(await res.body.json()).toEqual({ outputs: [{ id: "i", ok: true, value: 1 }] });
      await backend.stop(graceful, 20_000);
      expect(await graceful.exited).toBe("exited with status 0");
      expect(JSON.parse(fs.readFileSync(path.join(fx.dir, "exit-hook"), "utf8"))).toEqual({ count: 1 });

      const killed = await backend.start(fn, "c-2");
      await backend.ready(killed, 20_000);
      await backend.stop(killed, 0);
      expect(await killed.exited).toBe("killed by SIGKILL");
    } finally {
      await backend.close();
    }
  }, 60_000);
});
