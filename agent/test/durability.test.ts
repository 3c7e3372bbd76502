/**
 * Durability of spawned calls across kill -9 of the agent: a real agent process (`warmpool dev`) accepts
 * 1,000 spawns of a handler that notes every execution (start and end, with its container and time) in
 * a volume, is killed with SIGKILL with a third of them done, and is started again on the same state
 * directory. Then:
 * - every accepted call completes (0 lost);
 * - the dead agent's processes (bwrap, reapers, workers) are all gone within a second of the kill, so
 *   none of its workers runs on with nobody to report to (before the sandbox tied them to the agent they
 *   ran their inputs in flight to the end: 63 of 1,000 calls ran twice). The kernel's kill reaches them a
 *   few ms after the agent's own death (agent → bwrap → the sandbox's init → the worker): an input whose
 *   handler returns in that window still ends, and is counted; none ends after it;
 * - a call that ran twice did so only where at-least-once allows it: its first run ended before the
 *   dead agent's workers were gone, while the call was still `waiting` in the database (not durable).
 * The numbers are printed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { volumeDir } from "../src/backends/local/volumes";
import { childrenOf } from "../src/proc/tree";
import { alive, FIXTURES, Http, MAIN, startProcess, tempDir, until } from "./helpers";

const CALLS = 1000;
const SECONDS = 0.1;

/** Every process under `pid` (bwrap, each sandbox's reaper, the workers and theirs). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let todo = childrenOf(pid); todo.length > 0;) {
    const next = todo.pop() as number;
    out.push(next);
    todo.push(...childrenOf(next));
  }
  return out;
}

interface Execution {
  kind: "S" | "E";
  i: number;
  container: string;
  at: number;
}

test("kill -9 of the agent with 1,000 spawned calls outstanding: none lost, none finished by the dead agent's workers", async () => {
  expect(fs.existsSync(MAIN)).toBe(true); // built by `tsc -b agent`
  const dir = tempDir("durable");
  const state = path.join(dir, ".warmpool");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    [
      "name: durable",
      "functions:",
      "  work:",
      '    handler: "handlers:record"',
      "    concurrency: {maxInputs: 8}",
      "    autoscaler: {maxContainers: 4}",
      '    volumes: {"/record": record}',
      '    env: {RECORD_DIR: "/record"}',
      "",
    ].join("\n"),
  );
  const records = path.join(volumeDir(state, "durable", "record"), "executions");

  const first = await startProcess(dir);
  const token = fs.readFileSync(path.join(state, "token"), "utf8").trim();
  expect(fs.statSync(path.join(state, "token")).mode & 0o777).toBe(0o600);
  let http = new Http(first.url, token);

  const ids: string[] = new Array(CALLS);
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < CALLS) {
        const i = next++;
        const r = await http.spawn("durable", "work", [SECONDS, i]);
        expect(r.status).toBe(202);
        ids[i] = r.body.callId;
      }
    }),
  );
  // Mid-run: about a third done, results being committed while inputs run.
  const ended = (): number =>
    fs.existsSync(records)
      ? fs
          .readFileSync(records, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("E ")).length
      : 0;
  await until("a third of the calls run", () => ended() >= CALLS / 3, 60_000);
  const tree = descendants(first.child.pid!);
  expect(tree.length).toBeGreaterThan(0);
  const killedAt = Date.now();
  first.child.kill("SIGKILL");
  await first.exited;
  // Polled on every turn of the event loop (no timer granularity): when the last of them was seen gone.
  while (tree.some(alive)) {
    if (Date.now() - killedAt > 1000) throw new Error(`the dead agent's processes ${tree.filter(alive).join(", ")} still run 1 s after the kill`);
    await new Promise((r) => setImmediate(r));
  }
  const goneAt = Date.now();

  // What the dead agent had made durable. Read-only: a read-write close would fold the log into the file.
  const db = new Database(path.join(state, "state.db"), { readonly: true });
  const waitingAtKill = new Set(db.prepare("SELECT id FROM calls WHERE state = 'waiting'").pluck().all() as string[]);
  const stored = db.prepare("SELECT count(*) FROM calls").pluck().get() as number;
  db.close();
  expect(stored).toBe(CALLS); // every 202 was durable
  expect(waitingAtKill.size).toBeGreaterThan(100); // the kill left real work behind
  const oldContainers = new Set(fs.readdirSync(path.join(state, "logs", "durable", "work")).map((f) => f.replace(/\.log$/, "")));

  const second = await startProcess(dir);
  try {
    http = new Http(second.url, token);
    const results = new Array<unknown>(CALLS);
    let k = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (k < CALLS) {
          const i = k++;
          const done = await http.result(ids[i] as string);
          expect(done.status).toBe("succeeded");
          results[i] = done.result;
        }
      }),
    );
    expect(results).toEqual(Array.from({ length: CALLS }, (_, i) => i)); // 0 lost
  } finally {
    second.child.kill("SIGTERM");
    await second.exited;
  }

  const executions: Execution[] = fs
    .readFileSync(records, "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [kind, i, container, , at] = line.split(" ");
      return { kind: kind as "S" | "E", i: Number(i), container: container as string, at: Number(at) };
    });
  const old = (e: Execution): boolean => oldContainers.has(e.container);
  const ends = new Map<number, Execution[]>();
  const starts = new Map<number, Execution[]>();
  for (const e of executions) {
    const map = e.kind === "E" ? ends : starts;
    map.set(e.i, [...(map.get(e.i) ?? []), e]);
  }
  // Ended by the dead agent's workers after the kill: only in the window before the kill reached them.
  const lateEnds = executions.filter((e) => e.kind === "E" && old(e) && e.at > killedAt);
  expect(lateEnds.filter((e) => e.at > goneAt)).toEqual([]);
  // Killed mid-run: started by a dead agent's worker, never ended there, run again after the restart.
  const interrupted = [...starts].filter(([i, s]) => s.some(old) && !(ends.get(i) ?? []).some(old)).length;
  const twice = [...ends].filter(([, e]) => e.length > 1);
  for (const [i, e] of twice) {
    // Each first run ended before the kill, with the call still waiting: its result was not durable yet.
    const first = e[0] as Execution;
    const ok = { i, runs: e, firstEndedByTheDeadAgent: true, waiting: true, killedAt, goneAt };
    expect({ ...ok, firstEndedByTheDeadAgent: old(first) && first.at <= goneAt, waiting: waitingAtKill.has(ids[i] as string) }).toEqual(ok);
  }
  process.stdout.write(
    `durability: ${CALLS} spawned, ${waitingAtKill.size} not finished at the kill, ${interrupted} of them running (killed mid-run, run again); ` +
      `dead agent's ${tree.length} processes gone ${goneAt - killedAt} ms after the kill; ` +
      `executions started ${executions.filter((e) => e.kind === "S").length}, ended ${executions.filter((e) => e.kind === "E").length}; ` +
      `ended by a dead agent's worker after the kill: ${lateEnds.length} (at +${lateEnds.map((e) => (e.at - killedAt).toFixed(1)).join(", +") || "-"} ms; its processes were all seen gone at +${goneAt - killedAt} ms), after that: 0; ` +
      `ran to the end twice: ${twice.length} (${twice.filter(([, e]) => (e[0] as Execution).at <= killedAt).length} first ended before the kill with the result not yet committed, ` +
      `${twice.filter(([, e]) => (e[0] as Execution).at > killedAt).length} in the window after it: at-least-once); lost: 0\n`,
  );
  for (let i = 0; i < CALLS; i++) expect((ends.get(i) ?? []).length).toBeGreaterThanOrEqual(1);
}, 180_000);
