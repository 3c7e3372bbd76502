/**
 * The ported examples (issue 14, item 6), each under `warmpool dev` as a real process with real
 * sandboxed Python workers, driven by the Python client as a user would:
 * - examples/llm: a class function whose `@enter` loads weights from a file, two methods and a
 *   parameter (each size its own instance);
 * - examples/pipeline: a schedule fires a function that maps over another from inside its container,
 *   writes to a Dict and fills a Queue that a consumer drains.
 */
import path from "node:path";
import { Http, startProcess, tempDir, until, type Running } from "./helpers";
import { pyJson } from "./runtimes/python-client";

jest.setTimeout(90_000);

const EXAMPLES = path.resolve(__dirname, "..", "..", "examples");

async function dev(example: string): Promise<{ agent: Running; dir: string }> {
  const dir = tempDir(example); // warmpool dev keeps its state, and its token, in ./.warmpool
  const agent = await startProcess(dir, ["dev", path.join(EXAMPLES, example, "app.yaml"), "--port", "0", "--log-level", "warn"]);
  return { agent, dir };
}

async function stop(running: { agent: Running } | undefined): Promise<void> {
  running?.agent.child.kill("SIGTERM");
  await running?.agent.exited;
}

describe("examples/llm", () => {
  let llm: { agent: Running; dir: string };
  beforeAll(async () => (llm = await dev("llm")), 60_000);
  afterAll(() => stop(llm));

  test("@enter loads each size's weights; generate and score; blocking, map and .aio", async () => {
    const code = `
import asyncio, json
from warmpool import Cls
LLM = Cls.from_name("llm", "LLM")
small, large = LLM(), LLM(size="large")
async def aio():
    return await asyncio.gather(large.generate.remote.aio("a"), small.score.remote.aio("the cat sat on a mat"))
print(json.dumps({
    "small": small.generate.remote("the"),
    "short": small.generate.remote("the", max_tokens=2),
    "large": large.generate.remote("the"),
    "scores": list(large.score.map(["a dog ran home", "the cat"])),
    "aio": asyncio.run(aio()),
}))
`;
    const out = await pyJson(code, { cwd: llm.dir, env: { WARMPOOL_URL: llm.agent.url } });
    expect(out).toEqual({ small: "the cat sat on a mat", short: "the cat sat", large: "the dog ran home", scores: [3, 0], aio: ["a dog ran home", 5] });
  });

  test("a size without weights fails its inputs with the @enter hook's error", async () => {
    const code = `
import json
from warmpool import Cls
try:
    Cls.from_name("llm", "LLM")(size="huge").generate.remote("the")
except FileNotFoundError as e:
    print(json.dumps([type(e).__name__, e.type, "huge.json" in e.message]))
`;
    expect(await pyJson(code, { cwd: llm.dir, env: { WARMPOOL_URL: llm.agent.url } })).toEqual(["FileNotFoundError", "FileNotFoundError", true]);
  });
});

describe("examples/pipeline", () => {
  let pipe: { agent: Running; dir: string };
  beforeAll(async () => (pipe = await dev("pipeline")), 60_000);
  afterAll(() => stop(pipe));

  test("the schedule maps from inside its container into a Dict and a Queue; the consumer drains the Queue", async () => {
    const env = { WARMPOOL_URL: pipe.agent.url };
    const read = `
import json
from warmpool import Dict, NotFoundError
try:
    runs = Dict.from_name("runs", app="pipeline")
    print(json.dumps({"count": runs.get("count", 0), "first": runs.get("run-1")}))
except NotFoundError:
    print(json.dumps({"count": 0}))
`;
    // The schedule fires every 5 s: wait for its first run to have written the Dict.
    const runs = await until(
      "the first scheduled run",
      async () => {
        const r = await pyJson(read, { cwd: pipe.dir, env });
        return r.count >= 1 ? r : undefined;
      },
      30_000,
    );
    expect(runs.first).toEqual({ n: 10, total: 285 });

    const consumed = await pyJson(`import json\nfrom warmpool import Function\nprint(json.dumps(Function.from_name("pipeline", "consume").remote()))`, { cwd: pipe.dir, env });
    // Every run queues 0² + 1² + ... + 9² = 285; another run may have come meanwhile.
    expect(consumed.taken % 10).toBe(0);
    expect(consumed.taken).toBeGreaterThanOrEqual(10);
    expect(consumed.consumed).toBe((consumed.taken / 10) * 285);

    // The scheduled call's ten squares were made from inside it: they are its children.
    const token = (await import("node:fs")).readFileSync(path.join(pipe.dir, ".warmpool", "token"), "utf8").trim();
    const http = new Http(pipe.agent.url, token);
    const schedule = (await http.req("GET", "/v1/schedules?app=pipeline")).body.schedules[0];
    const call = await http.result(schedule.lastCallId);
    expect(call).toMatchObject({ status: "succeeded", result: 285 });
    expect(call.children).toHaveLength(10);
  });
});
