/**
 * The database checks at start (store/open-check.ts, store/wal.ts), on real files.
 *
 * A real agent process (`warmpool dev`) accepts 200 spawns and is killed with SIGKILL; its project dir
 * (with .warmpool) is copied once per case, each copy is changed the way a disk or an operator might,
 * and a new agent process is started on it:
 * - untouched: it starts, every call is there; stopped cleanly it leaves neither marker nor log;
 * - the write-ahead log deleted: refuses, exit status 2, naming the log, what is missing and the ways out;
 * - a byte of an early frame of the log flipped: refuses (SQLite itself would open it and lose calls,
 *   which the test shows);
 * - the log cut in the middle of its last frame (a torn last write): starts, with every call of the
 *   earlier transactions;
 * - a cleanly closed state.db overwritten with garbage, or one of its pages damaged: refuses. (With the
 *   log of a kill beside it, garbage in state.db can be harmless: SQLite reads every page the log holds
 *   from the log.)
 * Beside these, the log reader on logs SQLite wrote in this process: a log restarted after a checkpoint
 * keeps stale frames with old salts, which are not damage.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { inspectWal, inspectWalBuffer, walDamage } from "../src/store/wal";
import { FIXTURES, Http, MAIN, startProcess, tempDir, type Running } from "./helpers";

const run = promisify(execFile);
const CALLS = 200;
let source: string;
let ids: string[];
let token: string;

/** A copy of the killed agent's project dir, with its state files. */
function copy(name: string): { dir: string; db: string; wal: string } {
  const dir = path.join(path.dirname(source), name);
  fs.cpSync(source, dir, { recursive: true });
  const db = path.join(dir, ".warmpool", "state.db");
  return { dir, db, wal: `${db}-wal` };
}

/** Starts `warmpool dev` in `dir` expecting a refusal: its exit status and stderr. */
async function refused(dir: string): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, [MAIN, "dev", "app.yaml", "--port", "0", "--log-level", "warn"], { cwd: dir, timeout: 30_000 });
    throw new Error(`the agent started: ${r.stdout}`);
  } catch (err) {
    const e = err as { code: number | string; stderr: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stderr: e.stderr };
  }
}

/** Calls of `ids` the agent on `agent` knows. */
async function known(agent: Running): Promise<number> {
  const http = new Http(agent.url, token);
  let n = 0;
  for (const id of ids) if ((await http.get(id)).status === 200) n++;
  return n;
}

async function stop(agent: Running): Promise<void> {
  agent.child.kill("SIGTERM");
  await agent.exited;
}

beforeAll(async () => {
  source = path.join(tempDir("store-open"), "killed");
  fs.mkdirSync(source, { mode: 0o755 });
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(source, "handlers.py"));
  // Each call sleeps a minute: all stay unfinished, in the log.
  fs.writeFileSync(path.join(source, "app.yaml"), ["name: db", "functions:", "  work:", '    handler: "handlers:slow"', "    autoscaler: {maxContainers: 1}", ""].join("\n"));
  const agent = await startProcess(source);
  token = fs.readFileSync(path.join(source, ".warmpool", "token"), "utf8").trim();
  const http = new Http(agent.url, token);
  ids = new Array(CALLS);
  let next = 0;
  // 10 clients: a group commit holds at most 10 spawns.
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < CALLS) {
        const i = next++;
        ids[i] = (await http.spawn("db", "work", [60, i])).body.callId;
      }
    }),
  );
  agent.child.kill("SIGKILL");
  await agent.exited;
  const db = path.join(source, ".warmpool", "state.db");
  expect(fs.existsSync(`${db}-open`)).toBe(true); // not closed cleanly
  const report = inspectWal(`${db}-wal`);
  expect(report).toMatchObject({ badHeader: null, firstBad: null });
  expect(report.frames).toBeGreaterThan(20);
}, 60_000);

test("untouched after kill -9: the agent starts with every call; a clean stop leaves neither marker nor log", async () => {
  const c = copy("untouched");
  const agent = await startProcess(c.dir);
  try {
    expect(await known(agent)).toBe(CALLS);
  } finally {
    await stop(agent);
  }
  expect(fs.existsSync(`${c.db}-open`)).toBe(false);
  expect(fs.existsSync(c.wal)).toBe(false);
});

test("the log deleted after kill -9: refused, naming the log and the ways out", async () => {
  const c = copy("no-wal");
  fs.rmSync(c.wal);
  const r = await refused(c.dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${c.db} was not closed cleanly`);
  expect(r.stderr).toContain(`its write-ahead log ${c.wal} is missing`);
  expect(r.stderr).toContain(`Restore ${c.wal} from the backup`);
  expect(r.stderr).toContain("start with an empty database, which loses every call in it");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});

test("a byte of an early frame flipped: refused; SQLite itself would have opened it and lost calls", async () => {
  const c = copy("flipped");
  const wal = fs.readFileSync(c.wal);
  const pageSize = wal.readUInt32BE(8);
  // Frame 2 (index 1): later transactions follow it. A byte in the middle of its page.
  wal[32 + 1 * (24 + pageSize) + 24 + pageSize / 2] ^= 0xff;
  fs.writeFileSync(c.wal, wal);
  const report = inspectWalBuffer(wal);
  expect(report).toMatchObject({ firstBad: 1 });
  expect(report.transactionsAfter).toBeGreaterThan(0);

  const r = await refused(c.dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`the write-ahead log ${c.wal} of ${c.db} is damaged: frame 2 of ${report.frames}`);
  expect(r.stderr).toContain("SQLite would drop that frame and everything after it");
  expect(r.stderr).toContain(`move ${c.db}, ${c.wal} and ${c.db}-shm aside`);

  // What starting anyway would have done: SQLite opens it without a word, and most calls are gone.
  const plain = copy("flipped-opened-by-sqlite");
  fs.writeFileSync(plain.wal, wal);
  const db = new Database(plain.db, { readonly: true });
  // The log held the schema too (the file had not been checkpointed yet): the calls table itself is gone.
  const table = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'calls'").pluck().get() as number;
  const rows = table === 0 ? 0 : (db.prepare("SELECT count(*) FROM calls").pluck().get() as number);
  db.close();
  expect(rows).toBeLessThan(CALLS);
});

test("the log cut in the middle of its last frame (a torn write): the agent starts with the calls of the earlier transactions", async () => {
  const c = copy("torn");
  const size = fs.statSync(c.wal).size;
  const pageSize = fs.readFileSync(c.wal).readUInt32BE(8);
  fs.truncateSync(c.wal, size - Math.floor((24 + pageSize) / 2));
  expect(walDamage(inspectWal(c.wal))).toBeNull();
  const agent = await startProcess(c.dir);
  try {
    // The last transaction held at most 10 spawns (10 clients).
    expect(await known(agent)).toBeGreaterThanOrEqual(CALLS - 10);
  } finally {
    await stop(agent);
  }
});

/** A copy stopped cleanly once: every call in state.db itself, no log. */
async function cleanCopy(name: string): Promise<ReturnType<typeof copy>> {
  const c = copy(name);
  await stop(await startProcess(c.dir));
  expect(fs.existsSync(c.wal)).toBe(false);
  return c;
}

test("state.db overwritten with garbage: refused as not a database", async () => {
  const c = await cleanCopy("garbage");
  fs.writeFileSync(c.db, Buffer.alloc(fs.statSync(c.db).size, "garbage!"));
  const r = await refused(c.dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`the database ${c.db} is damaged (file is not a database)`);
  expect(r.stderr).toContain(`Restore it from a backup; or move ${c.db}, ${c.wal} and ${c.db}-shm aside`);
});

test("one page of a cleanly closed state.db damaged: refused by quick_check", async () => {
  const c = await cleanCopy("bad-page");
  const db = new Database(c.db, { readonly: true });
  const root = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_calls_1'").pluck().get() as number;
  db.close();
  const file = fs.readFileSync(c.db);
  const pageSize = file.readUInt16BE(16) === 1 ? 65536 : file.readUInt16BE(16);
  // The call ids' index: its first freeblock pointed into its own header. Every other page reads fine.
  file.writeUInt16BE(7, (root - 1) * pageSize + 1);
  fs.writeFileSync(c.db, file);
  const r = await refused(c.dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`the database ${c.db} is damaged (PRAGMA quick_check found`);
  expect(r.stderr).toContain(`page ${root}: free space corruption`);
  expect(r.stderr).toContain("Restore it from a backup");
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
});

describe("the log reader on logs SQLite writes", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("wal");
  });

  /** A database in WAL mode without automatic checkpoints, `n` one-row transactions, and a copy of its log taken while open. */
  function walOf(name: string, n: number, restart = false): Buffer {
    const file = path.join(dir, `${name}.db`);
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.exec("CREATE TABLE t (x TEXT)");
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    for (let i = 0; i < n; i++) insert.run("x".repeat(3000));
    if (restart) {
      // Everything checkpointed; the next write starts the log again from its beginning, with new salts.
      db.pragma("wal_checkpoint(RESTART)");
      insert.run("after the restart");
    }
    const wal = fs.readFileSync(`${file}-wal`);
    db.close();
    return wal;
  }

  test("a clean log: nothing to report", () => {
    const report = inspectWalBuffer(walOf("clean", 20));
    expect(report).toMatchObject({ badHeader: null, firstBad: null });
    expect(report.frames).toBeGreaterThanOrEqual(20);
  });

  test("a damaged last transaction is a torn tail, not damage; the same byte earlier is damage", () => {
    const wal = walOf("tail", 20);
    const pageSize = wal.readUInt32BE(8);
    const frames = (wal.length - 32) / (24 + pageSize);
    const last = Buffer.from(wal);
    last[32 + (frames - 1) * (24 + pageSize) + 24 + 10] ^= 1;
    expect(inspectWalBuffer(last)).toMatchObject({ firstBad: frames - 1, framesAfter: 0 });
    expect(walDamage(inspectWalBuffer(last))).toBeNull();
    const early = Buffer.from(wal);
    early[32 + 3 * (24 + pageSize) + 24 + 10] ^= 1;
    expect(walDamage(inspectWalBuffer(early))).toMatch(/^frame 4 of \d+ \(page \d+\) fails its checksum/);
  });

  test("a log restarted after a checkpoint: the stale frames after the new ones are not damage", () => {
    const report = inspectWalBuffer(walOf("restarted", 20, true));
    expect(report.firstBad).not.toBeNull(); // SQLite stops at the first stale frame
    expect(report.framesAfter).toBe(0);
    expect(walDamage(report)).toBeNull();
  });

  test("a damaged header with frames behind it is damage: SQLite would ignore them all", () => {
    const wal = walOf("header", 5);
    wal[12] ^= 1; // the checkpoint sequence: the header's checksum no longer matches
    expect(walDamage(inspectWalBuffer(wal))).toMatch(/its header is damaged \(header checksum\), so SQLite would ignore all \d+ frames/);
  });
});
