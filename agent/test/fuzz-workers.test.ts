/**
 * A short run of the worker listeners' fuzz (agent/fuzz/workers.ts; `npm run fuzz` runs it with the
 * agent's planes): each runtime's real worker process, started as the agent starts it, attacked
 * directly with 300 generated cases, stalled heads and bodies, and a connection flood. Fails on a dead
 * worker, a hang, a 5xx, an error answer outside the protocol's JSON, a stall not cut within 10 s, or
 * a flood not refused with the JSON 503. Replay: `node agent/dist/fuzz/run.js --planes python,node
 * --cases 300 --seed 20261202`.
 */
import { fuzzWorker, type WorkerRuntime } from "../fuzz/workers";

test.each<WorkerRuntime>(["python", "node"])(
  "the %s worker's listener survives hostile input and answers in the protocol's shape",
  async (runtime) => {
    const r = await fuzzWorker(runtime, { cases: 300, seed: 20261202, concurrency: 16 });
    expect({ crashed: r.crashed, failures: r.failures }).toEqual({ crashed: false, failures: [] });
    expect(r.cases).toBe(300);
    expect(r.scenarios.map((s) => s.name).sort()).toEqual(["connection flood", "stalled body", "stalled chunked body", "stalled head"]);
  },
  120_000,
);
