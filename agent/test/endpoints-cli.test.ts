/**
 * `warmpool serve app.yaml` (a real agent process) prints the endpoint URLs; `warmpool apps` lists the
 * endpoints and `warmpool schedules` the schedules; the printed URL answers.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { Http, MAIN, tempDir } from "./helpers";

const run = promisify(execFile);

test("serve prints endpoint URLs; apps and schedules list them", async () => {
  const dir = tempDir("serve");
  fs.copyFileSync(path.join(__dirname, "fixtures", "web", "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    [
      "name: demo",
      "functions:",
      "  hello: { handler: 'handlers:hello' }",
      "endpoints:",
      "  greet: { function: hello, path: /greet, public: true }",
      "schedules:",
      "  nightly: { function: hello, cron: '0 2 * * *', timezone: Europe/Paris, args: [{ query: {} }] }",
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [MAIN, "serve", "app.yaml", "--port", "0", "--log-level", "warn"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /endpoint greet \(function, public\) → hello: (http:\/\/\S+)/.exec(out);
        if (m !== null) resolve(m[1] as string);
      });
      child.once("exit", (code) => reject(new Error(`agent exited with ${code}: ${out}`)));
    });
    const base = /ready on (http:\/\/\S+)/.exec(out)![1] as string;
    expect(url).toBe(`${base}/web/demo/greet`);
    const anon = new Http(url, null);
    expect((await anon.req("GET", "?name=cli")).body).toEqual({ hello: "cli" });
    const env = { ...process.env, WARMPOOL_URL: base };
    const apps = await run(process.execPath, [MAIN, "apps"], { cwd: dir, env });
    expect(apps.stdout).toContain("greet");
    expect(apps.stdout).toContain(`${base}/web/demo/greet`);
    const schedules = await run(process.execPath, [MAIN, "schedules", "--json"], { cwd: dir, env });
    expect(JSON.parse(schedules.stdout)).toEqual([
      expect.objectContaining({ app: "demo", name: "nightly", timing: 'cron "0 2 * * *" (Europe/Paris)', lastRun: null, nextRun: expect.stringMatching(/T0[01]:00:00.000Z$/) }),
    ]);
    const table = await run(process.execPath, [MAIN, "schedules"], { cwd: dir, env });
    expect(table.stdout).toContain("demo/nightly");
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}, 60_000);
