/**
 * Idempotency keys across kill -9 of a real agent process (`warmpool dev`, real Python workers, the
 * SQLite state on disk): a `call` or `spawn` sent again with the key of an earlier one attaches to that
 * call — its result if it finished, its progress if not — instead of running it again (each input of a
 * `map` too, keyed by its own field), even after the
 * agent was killed and started again on the same state. Without a key, the same request is a new call.
 * Every run of the handler is counted in a file (handlers.record).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { volumeDir } from "../src/backends/local/volumes";
import { FIXTURES, Http, ndjson, startProcess, tempDir, until, type Running } from "./helpers";

/** Runs of `record(…, i)` that started, by i. */
function starts(file: string): Map<number, number> {
  const runs = new Map<number, number>();
  if (!fs.existsSync(file)) return runs;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const [kind, i] = line.split(" ");
    if (kind === "S") runs.set(Number(i), (runs.get(Number(i)) ?? 0) + 1);
  }
  return runs;
}

test("a key attaches to its call, finished or running, across kill -9 of the agent; no key, a new call", async () => {
  const dir = tempDir("idempotency");
  const state = path.join(dir, ".warmpool");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    ["name: keys", "functions:", "  work:", '    handler: "handlers:record"', "    concurrency: {maxInputs: 4}", '    volumes: {"/record": record}', '    env: {RECORD_DIR: "/record"}', ""].join("\n"),
  );
  const records = path.join(volumeDir(state, "keys", "record"), "executions");
  let agent: Running = await startProcess(dir);
  const token = fs.readFileSync(path.join(state, "token"), "utf8").trim();
  let http = new Http(agent.url, token);
  const call = (args: unknown[], key?: string) => http.req("POST", "/v1/apps/keys/functions/work/call", { args }, key === undefined ? {} : { "idempotency-key": key });
  const spawn = (args: unknown[], key?: string) => http.req("POST", "/v1/apps/keys/functions/work/spawn", { args }, key === undefined ? {} : { "idempotency-key": key });

  try {
    // A finished call, a spawned one, and one still running when the agent dies.
    const done = await call([0, 1], "key-done");
    expect(done.body).toMatchObject({ status: "succeeded", result: 1 });
    expect(done.headers["idempotent-replayed"]).toBe("false");
    const spawned = await spawn([0, 2], "key-spawn");
    expect(spawned.status).toBe(202);
    expect((await http.result(spawned.body.callId)).result).toBe(2);
    // The key may come in the body instead of the header.
    const again = await http.req("POST", "/v1/apps/keys/functions/work/spawn", { args: [0, 2], idempotencyKey: "key-spawn" });
    expect(again.body.callId).toBe(spawned.body.callId);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    // A map's inputs, each keyed by its own field.
    const map = () =>
      http.req("POST", "/v1/apps/keys/functions/work/map", [
        { args: [0, 4], idempotencyKey: "own-4" },
        { args: [0, 5], idempotencyKey: "own-5" },
      ]);
    const mapped = ndjson((await map()).text);
    expect(mapped.slice(0, 2).map((l) => l.result)).toEqual([4, 5]);
    void call([30, 3], "key-running").catch(() => undefined);
    await until("the long call running", () => starts(records).get(3) === 1);

    agent.child.kill("SIGKILL");
    await agent.exited;
    agent = await startProcess(dir);
    http = new Http(agent.url, token);

    // The finished call's result, without a run: i = 1 ran once.
    const replay = await call([0, 1], "key-done");
    expect(replay.body).toMatchObject(done.body);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect((await spawn([0, 2], "key-spawn")).body.callId).toBe(spawned.body.callId);
    // The running call: the restarted agent queued it again (at-least-once: it ran when the agent
    // died); a retry with its key attaches to it: 2 runs in all, not 3.
    const running = await spawn([30, 3], "key-running");
    const stored = await http.get(running.body.callId);
    expect(stored.body.status).not.toBe("succeeded");
    expect(await http.req("DELETE", `/v1/calls/${running.body.callId}`)).toMatchObject({ status: 200 });
    const remapped = ndjson((await map()).text);
    expect(remapped.slice(0, 2).map((l) => [l.callId, l.result])).toEqual(mapped.slice(0, 2).map((l) => [l.callId, l.result]));
    expect(starts(records).get(1)).toBe(1);
    expect(starts(records).get(2)).toBe(1);
    expect(starts(records).get(4)).toBe(1);
    expect(starts(records).get(5)).toBe(1);
    expect(starts(records).get(3) ?? 0).toBeLessThanOrEqual(2);

    // Without a key the same request is a new call, and runs again.
    const fresh = await call([0, 1]);
    expect(fresh.body.callId).not.toBe(done.body.callId);
    expect(starts(records).get(1)).toBe(2);

    const bad = await call([0, 1], "has space");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe('malformed request: Idempotency-Key header = "has space": must be 1 to 255 printable ASCII characters without spaces');
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
  }
}, 120_000);
