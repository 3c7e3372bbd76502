/**
 * What a replaced agent pod relies on (examples/e2e/journey.e2e.test.ts runs it for real):
 * - `close(drainMs)` lets the inputs already sent finish and records their results, sends no queued
 *   input, and leaves the queued ones in the store for the next agent: nothing runs twice;
 * - the state directory's lock holds between processes that cannot tell each other's pids apart (two
 *   pods, both pid 1), and is free again once its holder dies, however it dies.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { lockStateDir, StateDirLocked } from "../src/lock";
import { startAgent, tempDir, until } from "./helpers";

test("close(drainMs) finishes and records the inputs in flight, and sends none of the queued ones", async () => {
  const h = await startAgent({
    gate: {
      handler: "handlers:gate",
      concurrency: { maxInputs: 2 },
      autoscaler: { maxContainers: 1 },
    },
  });
  const ids: string[] = [];
  for (const name of ["a", "b", "c", "d"]) ids.push((await h.http.spawn("t", "gate", [name])).body.callId);
  const fn = h.agent.registry.lookup("t", "gate");
  await until("two inputs in flight, two queued", () => fn.load.inFlight === 2 && fn.lane.queued === 2);

  const closed = h.agent.close(20_000);
  // Draining: the two in flight are still running after the containers would have been stopped.
  await new Promise((r) => setTimeout(r, 3000)); // longer than the 2 s the containers get to stop
  for (const name of ["a", "b", "c", "d"]) fs.writeFileSync(path.join(h.dir, name), "");
  await closed;

  const db = new Database(h.agent.options.dbPath, { readonly: true });
  const states = ids.map((id) => db.prepare("SELECT state FROM calls WHERE id = ?").pluck().get(id) as string);
  db.close();
  expect(states).toEqual(["completed", "completed", "waiting", "waiting"]);
}, 60_000);

describe("the state directory lock", () => {
  const holder = (dir: string) => {
    const child = spawn(
      process.execPath,
      [
        "-e",
        `globalThis.unlock = require(${JSON.stringify(path.join(__dirname, "..", "dist", "src", "lock.js"))}).lockStateDir(process.argv[1]); console.log("held"); setInterval(() => {}, 1000);`,
        dir,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const held = new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    return { child, held };
  };

  it("refuses a second holder even when the pid file names the caller itself (another pid namespace)", async () => {
    const dir = tempDir("lock");
    const other = holder(dir);
    await other.held;
    try {
      // What a pod sees: the other agent is pid 1 in its namespace, and so is this one.
      fs.writeFileSync(path.join(dir, "agent.pid"), String(process.pid));
      expect(() => lockStateDir(dir)).toThrow(StateDirLocked);
    } finally {
      other.child.kill("SIGKILL");
      await new Promise((r) => other.child.once("exit", r));
    }
    // Killed with SIGKILL: the kernel dropped its lock.
    const unlock = lockStateDir(dir);
    expect(fs.readFileSync(path.join(dir, "agent.pid"), "utf8")).toBe(String(process.pid));
    unlock();
    expect(fs.existsSync(path.join(dir, "agent.pid"))).toBe(false);
  }, 30_000);
});
