/**
 * Observability of a real agent process: /metrics without the token on `--metrics-port` (and only
 * there), the latency, queue-wait, execution and cold-start histograms per app and function, Node's
 * process metrics under their usual names, one JSON log line per call with ISO times and level names,
 * and `warmpool dev`'s readable lines on a terminal.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { request } from "undici";
import { sh } from "./cli-process";
import { FIXTURES, Http, MAIN, startProcess, tempDir, until, type Running } from "./helpers";

jest.setTimeout(60_000);

const SPEC = ["name: obs", "functions:", "  square:", '    handler: "handlers:square"', "  boom:", '    handler: "handlers:boom"', "    retries: {maxRetries: 1, initialDelay: 0}", ""].join("\n");

function project(prefix: string): string {
  const dir = tempDir(prefix);
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(path.join(dir, "app.yaml"), SPEC);
  return dir;
}

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, text: await res.body.text() };
}

describe("an agent with --metrics-port, logging JSON", () => {
  let agent: Running;
  let http: Http;
  let metricsUrl: string;
  let token: string;

  beforeAll(async () => {
    const dir = project("obs");
    agent = await startProcess(dir, ["dev", "app.yaml", "--port", "0", "--metrics-port", "0", "--sandbox", "none", "--log-level", "info"]);
    metricsUrl = await until("the metrics URL", () => /metrics without a token on (http:\/\/\S+)/.exec(agent.stdout())?.[1]);
    token = fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim();
    http = new Http(agent.url, token);
    for (const x of [1, 2, 3]) expect((await http.call("obs", "square", [x])).body.result).toBe(x * x);
    expect((await http.call("obs", "boom", [7])).body.status).toBe("failed");
  });

  afterAll(async () => {
    agent.child.kill("SIGTERM");
    await agent.exited;
  });

  test("the metrics port serves /metrics without a token, and nothing else; the gateway's /metrics still needs it", async () => {
    expect((await get(metricsUrl)).status).toBe(200);
    const base = metricsUrl.replace(/\/metrics$/, "");
    expect((await get(`${base}/v1/apps`, token)).status).toBe(404);
    expect((await get(`${base}/metrics/../v1/apps`)).status).toBe(404);
    expect((await get(`${agent.url}/metrics`)).status).toBe(401);
  });

  test("histograms per app and function: call latency by outcome, queue wait and execution per attempt, cold starts; Node's process metrics", async () => {
    const text = (await get(metricsUrl)).text;
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    expect(value('warmpool_call_duration_seconds_count{app="obs",function="square",outcome="succeeded"}')).toBe(3);
    expect(value('warmpool_call_duration_seconds_count{app="obs",function="boom",outcome="failed"}')).toBe(1);
    expect(text).toMatch(/^warmpool_call_duration_seconds_bucket\{le="0\.005",app="obs",function="square",outcome="succeeded"\} \d+$/m);
    // boom ran twice (one retry): two attempts waited and ran.
    expect(value('warmpool_queue_wait_seconds_count{app="obs",function="boom"}')).toBe(2);
    expect(value('warmpool_execution_duration_seconds_count{app="obs",function="boom"}')).toBe(2);
    expect(value('warmpool_execution_duration_seconds_count{app="obs",function="square"}')).toBe(3);
    expect(value('warmpool_cold_start_seconds_count{app="obs",function="square"}')).toBe(1);
    expect(value('warmpool_cold_start_seconds_sum{app="obs",function="square"}')).toBeGreaterThan(0);
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(text).toMatch(new RegExp(`^${name} `, "m"));
    }
    expect(text).not.toContain("warmpool_agent_process_");
  });

  test("one JSON log line per call, with its id, function, attempts, outcome and durations; ISO times and level names on every line", async () => {
    await until("four call lines", () => (agent.stderr().match(/"call.finished"/g) ?? []).length === 4);
    const lines = agent
      .stderr()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of lines) {
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(["debug", "info", "warn", "error"]).toContain(l.level);
    }
    const calls = lines.filter((l) => l.event === "call.finished");
    expect(calls.filter((l) => l.fn === "obs/square")).toHaveLength(3);
    for (const c of calls) {
      expect(c).toMatchObject({ level: "info", callId: expect.stringMatching(/^fc-/), totalMs: expect.any(Number), queueMs: expect.any(Number), runMs: expect.any(Number) });
    }
    expect(calls.find((l) => l.fn === "obs/boom")).toMatchObject({ outcome: "failed", attempt: 2, error: "ValueError" });
    expect(calls.find((l) => l.fn === "obs/square")).toMatchObject({ outcome: "succeeded", attempt: 1 });
  });
});

test("`warmpool dev` on a terminal logs readable lines (time, level name, message), JSON when its stderr is a pipe", async () => {
  const dir = project("obs-tty");
  // A pseudo-terminal (util-linux's script): dev's stderr is a terminal.
  const child = spawn("script", ["-qfec", [process.execPath, MAIN, "dev", "app.yaml", "--port", "0", "--sandbox", "none"].map(sh).join(" "), "/dev/null"], {
    cwd: dir,
    env: { ...process.env, TERM: "xterm", NO_COLOR: "1" },
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  try {
    const url = await until("ready", () => /ready on (http:\/\/\S+)/.exec(out)?.[1]);
    const http = new Http(url, fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim());
    await http.call("obs", "square", [4]);
    const line = await until("the call's line", () => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: call fc-\S+ obs\/square succeeded in \d+ ms \(attempt 1\).*$/m.exec(out)?.[0]);
    expect(line).not.toContain('"level"');
    expect(out).not.toMatch(/^\{"level"/m);
  } finally {
    process.kill(-child.pid!, "SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
});
