/**
 * The `warmpool` CLI against a real `warmpool dev` process: a spec file that does not validate is
 * refused with the provider's wording and every problem's path, and the client commands (apps, call,
 * spawn, get, cancel, map, status, logs) work end to end with the token from `.warmpool/token`.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { FIXTURES, fixtureVolume, MAIN, startProcess, tempDir, type Running } from "./helpers";

const run = promisify(execFile);
jest.setTimeout(30_000);

async function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [MAIN, ...args], {
      cwd,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("a spec file that does not validate is refused with every problem, named by path", async () => {
  const dir = tempDir("cli-bad");
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    ["name: demo", "functions:", "  hello:", '    handler: "handlers:square"', "    autoscaler: {minContainers: -1}", "  other:", "    runtime: ruby", ""].join("\n"),
  );
  const r = await cli(dir, ["dev", "app.yaml", "--port", "0"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('spec file "app.yaml" has 3 invalid fields:');
  expect(r.stderr).toContain("functions.hello.autoscaler.minContainers = -1: must be");
  expect(r.stderr).toContain("functions.other.handler: is required");
  expect(r.stderr).toContain('functions.other.runtime = "ruby": must be');
});

test("an agent told to keep its state in PostgreSQL refuses to start, without printing the URL", async () => {
  const dir = tempDir("cli-postgres");
  const r = await cli(dir, ["agent", "--port", "0", "--state-dir", path.join(dir, "state")], { WARMPOOL_DATABASE_URL: "postgres://warmpool:s3cret-pw@db:5432/warmpool" });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("WARMPOOL_DATABASE_URL is set (Runtime state.kind: postgres)");
  expect(r.stderr).toContain("Use state.kind: sqlite");
  expect(r.stdout + r.stderr).not.toContain("s3cret-pw");
  expect(fs.existsSync(path.join(dir, "state"))).toBe(false);
});

test("without bwrap on PATH the agent refuses to start, in one line naming the fix, before it opens the database", async () => {
  const dir = tempDir("cli-nobwrap");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(path.join(dir, "app.yaml"), ["name: demo", "functions:", "  square:", '    handler: "handlers:square"', ""].join("\n"));
  const r = await cli(dir, ["dev", "app.yaml", "--port", "0"], {
    PATH: tempDir("empty-path"),
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(
    "warmpool agent: the local backend runs each worker in a bubblewrap sandbox, and bwrap is not installed (not found on PATH). " +
      "Install it (Debian/Ubuntu: apt-get install bubblewrap), or run the workers without isolation: --sandbox none\n",
  );
  // No database, and no lock held: the lock's file stays (its lock went with the process), its pid file does not.
  expect(fs.readdirSync(path.join(dir, ".warmpool")).sort()).toEqual(["agent.lock", "token"]);
});

test("`npx warmpool` runs the CLI from the repository root, through the bin npm links at install", async () => {
  const root = path.resolve(__dirname, "..", "..");
  expect(fs.readlinkSync(path.join(root, "node_modules", ".bin", "warmpool"))).toBe("../@warmpool/agent/bin/warmpool.js");
  const { stdout } = await promisify(execFile)("npx", ["--no-install", "warmpool", "--version"], { cwd: root });
  expect(stdout.trim()).toBe("0.1.0");
});

test("the bin says how to build the CLI when dist/ is not there yet (a fresh clone before its build)", async () => {
  const dir = tempDir("bin");
  fs.mkdirSync(path.join(dir, "bin"));
  fs.copyFileSync(path.resolve(__dirname, "..", "bin", "warmpool.js"), path.join(dir, "bin", "warmpool.js"));
  const err = await promisify(execFile)(process.execPath, [path.join(dir, "bin", "warmpool.js"), "--version"]).catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 2 });
  expect((err as { stderr: string }).stderr).toContain("run `npm run build` in the repository");
});

describe("client commands", () => {
  let dir: string;
  let agent: Running;
  let env: Record<string, string>;

  let gates: ReturnType<typeof fixtureVolume>;

  beforeAll(async () => {
    dir = tempDir("cli");
    gates = fixtureVolume(path.join(dir, ".warmpool"), "demo");
    fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
    fs.copyFileSync(path.join(FIXTURES, "handlers.js"), path.join(dir, "handlers.js"));
    fs.writeFileSync(
      path.join(dir, "app.yaml"),
      [
        "name: demo",
        "functions:",
        "  square:",
        '    handler: "handlers:square"',
        "    autoscaler: {maxContainers: 2}",
        "  double:",
        '    handler: "handlers:double"',
        "    runtime: node",
        "  boom:",
        '    handler: "handlers:boom"',
        "  wait:",
        '    handler: "handlers:gate"',
        "    autoscaler: {maxContainers: 1}",
        `    env: {FIXTURE_DIR: "${gates.dir}"}`,
        `    volumes: {"${gates.dir}": fixture}`,
        "",
      ].join("\n"),
    );
    agent = await startProcess(dir);
    env = { WARMPOOL_URL: agent.url };
  }, 30_000);

  afterAll(async () => {
    agent?.child.kill("SIGTERM");
    await agent?.exited;
  });

  test("call prints the result; a remote error exits 1 with its traceback", async () => {
    expect(await cli(dir, ["call", "demo/square", "7"], env)).toMatchObject({
      code: 0,
      stdout: "49\n",
    });
    expect((await cli(dir, ["call", "demo/double", "21"], env)).stdout).toBe("42\n");
    const boom = await cli(dir, ["call", "demo/boom", "1"], env);
    expect(boom.code).toBe(1);
    expect(boom.stderr).toContain("remote ValueError: bad input 1");
    expect(boom.stderr).toContain("Traceback");
  });

  test("spawn prints a call id that get resolves; cancel cancels a queued call", async () => {
    const spawned = await cli(dir, ["spawn", "demo/square", "12"], env);
    const id = spawned.stdout.trim();
    expect(id).toMatch(/^fc-/);
    expect((await cli(dir, ["get", id], env)).stdout).toBe("144\n");
    const held = (await cli(dir, ["spawn", "demo/wait", '"cli-gate"'], env)).stdout.trim();
    const queued = (await cli(dir, ["spawn", "demo/wait", '"cli-gate"'], env)).stdout.trim();
    const cancel = await cli(dir, ["cancel", queued, "-o", "json"], env);
    expect(JSON.parse(cancel.stdout)).toMatchObject({
      callId: queued,
      status: "cancelled",
      cancelled: true,
    });
    fs.writeFileSync(path.join(gates.dir, "cli-gate"), "");
    expect((await cli(dir, ["get", held], env)).stdout).toBe("cli-gate\n");
    const status = await cli(dir, ["get", queued, "--json"], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "cancelled" });
  });

  test("map streams one line per input", async () => {
    const r = await cli(dir, ["map", "demo/square", "--range", "50"], env);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(Array.from({ length: 50 }, (_, i) => ({ index: i, result: i * i })));
    expect(r.stderr).toContain("50 inputs, 50 succeeded, 0 failed");
  });

  test("apps, status and logs print tables and container output", async () => {
    const apps = await cli(dir, ["apps"], env);
    expect(apps.stdout).toMatch(/demo.*square.*python.*handlers:square/);
    const status = await cli(dir, ["status", "demo/square"], env);
    expect(status.stdout).toContain("scale up 0 → 1");
    expect(status.stdout).toMatch(/square-[0-9a-f]+.*ready/);
    const json = JSON.parse((await cli(dir, ["status", "demo/square", "--json"], env)).stdout);
    expect([1, 2]).toContain(json.status.readyReplicas);
    const logs = await cli(dir, ["logs", "demo/square", "--tail", "3"], env);
    expect(logs.stdout).toMatch(/^\[square-[0-9a-f]+\] \[warmpool\] ready/m);
  });

  test("a second agent on the same state directory refuses to start", async () => {
    const r = await cli(dir, ["dev", "app.yaml", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/another warmpool agent \(pid \d+\) is using .*\.warmpool/);
    expect((await cli(dir, ["call", "demo/square", "3"], env)).stdout).toBe("9\n"); // the first one is untouched
  });

  test("a wrong token is refused", async () => {
    const r = await cli(dir, ["apps", "--token", "nope"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("403 WP_ERR_FORBIDDEN");
  });
});
