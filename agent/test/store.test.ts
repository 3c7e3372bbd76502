/**
 * The SQLite store on a real file: group commits, the attempts of a call, recovery of unfinished
 * calls after the file is reopened (what a restart sees), the result TTL sweep, apps.
 */
import * as path from "node:path";
import Database from "better-sqlite3";
import { SqliteStore } from "../src/store/sqlite";
import { tempDir } from "./helpers";

describe("SqliteStore", () => {
  test("calls survive a reopen; only unfinished ones are handed back, oldest first", async () => {
    const file = path.join(tempDir("store"), "state.db");
    const a = new SqliteStore(file);
    await a.enqueue([
      { id: "c1", fn: "app/f", createdAt: 10, payload: '{"args":[1],"kwargs":{}}' },
      { id: "c2", fn: "app/f", createdAt: 11, payload: '{"args":[2],"kwargs":{}}' },
      { id: "c3", fn: "app/g", createdAt: 12, payload: '{"args":[3],"kwargs":{}}' },
    ]);
    a.recordAttempt("c2", { n: 1, container: "k", startedAt: 20, finishedAt: 21, outcome: "failed", error: { type: "ValueError", message: "x" }, retryDelayMs: 1000 });
    await a.finish("c1", "completed", "42", null, 30);
    await a.close();

    const b = new SqliteStore(file);
    expect(await b.unfinished()).toEqual([
      { id: "c2", fn: "app/f", createdAt: 11, attempts: 1 },
      { id: "c3", fn: "app/g", createdAt: 12, attempts: 0 },
    ]);
    expect(await b.payload("c3")).toBe('{"args":[3],"kwargs":{}}');
    const c1 = await b.get("c1");
    expect(c1).toMatchObject({ id: "c1", state: "completed", result: "42", finishedAt: 30 });
    expect(await b.payload("c1")).toBeNull(); // dropped once final
    expect((await b.get("c2"))?.attempts).toEqual([{ n: 1, container: "k", startedAt: 20, finishedAt: 21, outcome: "failed", error: { type: "ValueError", message: "x" }, retryDelayMs: 1000 }]);
    await b.close();
  });

  test("many writes in one turn of the event loop share one commit", async () => {
    const store = new SqliteStore(path.join(tempDir("store"), "state.db"));
    const n = 2000;
    const started = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => store.enqueue([{ id: `c${i}`, fn: "a/f", createdAt: i, payload: "{}" }])));
    const ms = performance.now() - started;
    expect((await store.unfinished()).length).toBe(n);
    // One fsynced transaction: far below one fsync per call.
    expect(ms).toBeLessThan(2000);
    await store.close();
  });

  test("a final state is written once: a late finish does not overwrite it", async () => {
    const store = new SqliteStore(path.join(tempDir("store"), "state.db"));
    await store.enqueue([{ id: "c", fn: "a/f", createdAt: 1, payload: "{}" }]);
    await store.finish("c", "cancelled", null, { type: "CallCancelled", message: "x" }, 5);
    await store.finish("c", "completed", "1", null, 6);
    expect((await store.get("c"))?.state).toBe("cancelled");
    await store.close();
  });

  test("sweep deletes results older than the TTL and keeps the rest", async () => {
    const store = new SqliteStore(path.join(tempDir("store"), "state.db"));
    await store.enqueue(["old", "new", "open"].map((id, i) => ({ id, fn: "a/f", createdAt: i, payload: "{}" })));
    store.recordAttempt("old", { n: 1, container: "k", startedAt: 1, finishedAt: 2, outcome: "succeeded" });
    await store.finish("old", "completed", "1", null, 100);
    await store.finish("new", "completed", "2", null, 200);
    expect(await store.sweep(150)).toBe(1);
    expect(await store.get("old")).toBeUndefined();
    expect((await store.get("new"))?.result).toBe("2");
    expect((await store.get("open"))?.state).toBe("waiting");
    await store.close();
  });

  test("the attempt that ends a call is stored with its result, after any earlier attempts", async () => {
    const file = path.join(tempDir("store"), "state.db");
    const a = new SqliteStore(file);
    await a.enqueue([{ id: "c", fn: "app/f", createdAt: 1, payload: "{}" }]);
    a.recordAttempt("c", { n: 1, container: "k1", startedAt: 2, finishedAt: 3, outcome: "timeout", error: { type: "Timeout", message: "t" }, retryDelayMs: 1000 });
    await a.finish("c", "completed", "7", null, 10, { n: 2, container: "k2", startedAt: 5, finishedAt: 9, outcome: "succeeded" });
    await a.close();
    const b = new SqliteStore(file);
    expect(await b.get("c")).toMatchObject({
      state: "completed",
      result: "7",
      attempts: [
        { n: 1, container: "k1", outcome: "timeout", retryDelayMs: 1000 },
        { n: 2, container: "k2", startedAt: 5, finishedAt: 9, outcome: "succeeded" },
      ],
    });
    await b.close();
  });

  test("a database file from before last_attempt existed opens and keeps its calls", async () => {
    const file = path.join(tempDir("store"), "state.db");
    const old = new Database(file);
    old.exec(`CREATE TABLE calls (id TEXT PRIMARY KEY, fn TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, payload TEXT, result TEXT, error TEXT);
      INSERT INTO calls (id, fn, state, created_at, payload) VALUES ('w', 'app/f', 'waiting', 1, '{"args":[1],"kwargs":{}}');`);
    old.close();
    const store = new SqliteStore(file);
    expect(await store.unfinished()).toEqual([{ id: "w", fn: "app/f", createdAt: 1, attempts: 0 }]);
    await store.finish("w", "completed", "1", null, 5, { n: 1, container: "k", startedAt: 2, finishedAt: 4, outcome: "succeeded" });
    expect((await store.get("w"))?.attempts).toEqual([{ n: 1, container: "k", startedAt: 2, finishedAt: 4, outcome: "succeeded" }]);
    await store.close();
  });

  test("apps are stored and replaced by name", async () => {
    const store = new SqliteStore(path.join(tempDir("store"), "state.db"));
    await store.saveApp({ name: "a", doc: { name: "a", functions: {} }, appDir: "/x" });
    await store.saveApp({ name: "a", doc: { name: "a", functions: { f: { handler: "m:f" } } }, appDir: "/y" });
    expect(await store.apps()).toEqual([{ name: "a", doc: { name: "a", functions: { f: { handler: "m:f" } } }, appDir: "/y" }]);
    await store.deleteApp("a");
    expect(await store.apps()).toEqual([]);
    await store.close();
  });
  test("schedule states survive a reopen, replaced per key; a state written by an older agent comes back with what it has", async () => {
    const file = path.join(tempDir("store"), "state.db");
    const a = new SqliteStore(file);
    const state = { key: "app/nightly", lastRun: 1, nextRun: 2, lastCallId: "fc-1", lastStatus: "succeeded" as const, lastError: null, consecutiveFailures: 0, skipped: 3 };
    await a.saveSchedule({ ...state, skipped: 1 });
    await a.saveSchedule(state);
    await a.close();
    const old = new Database(file);
    old.prepare("INSERT INTO schedule_state (key, state) VALUES (?, ?)").run("app/old", JSON.stringify({ key: "app/old", nextRun: 5 }));
    old.close();
    const b = new SqliteStore(file);
    expect(await b.schedules()).toEqual([state, { key: "app/old", nextRun: 5 }]);
    await b.close();
  });
});
