/**
 * Durability of spawned calls across kill -9 of the agent: a real agent process (`warmpool dev`) accepts
 * 1,000 spawns, is killed with SIGKILL while most are outstanding, and is started again on the same
 * state directory: every accepted call completes, and the workers the dead agent left behind are
 * reaped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { alive, FIXTURES, Http, MAIN, startProcess, tempDir, until } from "./helpers";

test("kill -9 of the agent with 1,000 spawned calls outstanding: all complete after a restart", async () => {
  expect(fs.existsSync(MAIN)).toBe(true); // built by `tsc -b agent`
  const dir = tempDir("durable");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    ["name: durable", "functions:", "  work:", '    handler: "handlers:slow"', "    concurrency: {maxInputs: 4}", "    autoscaler: {maxContainers: 2}", ""].join("\n"),
  );

  const first = await startProcess(dir);
  const token = fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim();
  expect(fs.statSync(path.join(dir, ".warmpool", "token")).mode & 0o777).toBe(0o600);
  let http = new Http(first.url, token);

  const ids: string[] = new Array(1000);
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < 1000) {
        const i = next++;
        const r = await http.spawn("durable", "work", [0.02, i]);
        expect(r.status).toBe(202);
        ids[i] = r.body.callId;
      }
    }),
  );
  first.child.kill("SIGKILL");
  await first.exited;
  const orphans = fs.readdirSync(path.join(dir, ".warmpool", "run")).map((f) => Number(fs.readFileSync(path.join(dir, ".warmpool", "run", f), "utf8")));

  // Read-only: a read-write connection's close would fold the log into the file and delete it, which the
  // next agent rightly takes for a log gone missing after an unclean stop.
  const db = new Database(path.join(dir, ".warmpool", "state.db"), { readonly: true });
  const outstanding = (db.prepare("SELECT count(*) FROM calls WHERE state = 'waiting'").pluck().get() as number);
  const stored = (db.prepare("SELECT count(*) FROM calls").pluck().get() as number);
  db.close();
  expect(stored).toBe(1000); // every 202 was durable
  expect(outstanding).toBeGreaterThan(100); // the kill left real work behind

  const second = await startProcess(dir);
  try {
    for (const pid of orphans) expect(alive(pid)).toBe(false);
    http = new Http(second.url, token);
    const results = new Array<unknown>(1000);
    let k = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (k < 1000) {
          const i = k++;
          const done = await http.result(ids[i] as string);
          expect(done.status).toBe("succeeded");
          results[i] = done.result;
        }
      }),
    );
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const status = await until("status", async () => (await http.status("durable", "work")).status);
    expect(status).toMatchObject({ queueDepth: 0, inFlight: 0, pendingSpawns: 0 });
  } finally {
    second.child.kill("SIGTERM");
    await second.exited;
  }
}, 120_000);
