/**
 * Modal's everyday commands through real processes: a standalone `warmpool agent`, and `warmpool
 * deploy app.yaml`, `stop`, `run app.yaml fn -- args`, `logs --follow --since --timestamps`,
 * `container list` and `container exec` typed against it (`--sandbox none`; sandbox-isolation.test.ts
 * runs exec inside a bubblewrap sandbox). And what the HTTP API under them does with
 * YAML bodies, DELETE, and the streaming logs route.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cli } from "./cli-process";
import { appToken } from "../src/token";
import { Http, MAIN, processesRunning, startProcess, tempDir, until, type Running } from "./helpers";

jest.setTimeout(60_000);

const HANDLERS = ["import sys", "def square(x):", "    return x * x", "def shout(x):", "    print(f'shout {x}', flush=True)", "    return x", ""].join("\n");
const SPEC = ["name: life", "functions:", "  square:", '    handler: "handlers:square"', "  shout:", '    handler: "handlers:shout"', ""].join("\n");

let agent: Running;
let dir: string;
let env: Record<string, string>;
let http: Http;

beforeAll(async () => {
  dir = tempDir("cli-life");
  fs.writeFileSync(path.join(dir, "handlers.py"), HANDLERS);
  fs.writeFileSync(path.join(dir, "app.yaml"), SPEC);
  const state = path.join(dir, "state");
  agent = await startProcess(dir, ["agent", "--port", "0", "--state-dir", state, "--sandbox", "none", "--log-level", "warn"]);
  env = { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: fs.readFileSync(path.join(state, "token"), "utf8").trim() };
  http = new Http(agent.url, env.WARMPOOL_TOKEN);
});

afterAll(async () => {
  agent.child.kill("SIGTERM");
  await agent.exited;
});

test("deploy app.yaml puts the file's app on the agent; call reaches it; stop removes it, and a second stop says it is not deployed", async () => {
  const d = await cli(dir, ["deploy", "app.yaml"], env);
  expect(d).toMatchObject({ code: 0, stdout: "deployed app life: square, shout\n" });
  expect((await cli(dir, ["call", "life/square", "7"], env)).stdout).toBe("49\n");

  const s = await cli(dir, ["stop", "life"], env);
  expect(s).toMatchObject({ code: 0, stdout: "stopped app life\n" });
  const apps = JSON.parse((await cli(dir, ["apps", "-o", "json"], env)).stdout) as Array<{ name: string }>;
  expect(apps.map((a) => a.name)).not.toContain("life");
  const again = await cli(dir, ["stop", "life"], env);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain('app "life" is not deployed');
});

test("deploy of a spec with problems reports every one before anything is sent", async () => {
  const bad = path.join(dir, "bad.yaml");
  fs.writeFileSync(bad, ["name: bad", "functions:", "  a:", "    autoscaler: {minContainers: -1}", "  b:", "    runtime: ruby", ""].join("\n"));
  const r = await cli(dir, ["deploy", "bad.yaml"], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("functions.a.autoscaler.minContainers = -1");
  expect(r.stderr).toContain("functions.b.handler: is required");
  expect(r.stderr).toContain('functions.b.runtime = "ruby"');
  expect((await http.req("GET", "/v1/apps/bad")).status).toBe(404);
});

test("run app.yaml fn -- args: deploys, calls once, prints the result, and stops the app; a deployed app is not replaced", async () => {
  const r = await cli(dir, ["run", "app.yaml", "square", "--", "9"], env);
  expect(r).toMatchObject({ code: 0, stdout: "81\n" });
  expect((await http.req("GET", "/v1/apps/life")).status).toBe(404);

  const json = await cli(dir, ["run", "app.yaml", "square", "-o", "json", "--", "-3"], env);
  expect(JSON.parse(json.stdout)).toMatchObject({ status: "succeeded", result: 9 });

  const missing = await cli(dir, ["run", "app.yaml", "nope"], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('app.yaml has no function "nope" (its functions: square, shout)');

  await cli(dir, ["deploy", "app.yaml"], env);
  const busy = await cli(dir, ["run", "app.yaml", "square", "--", "2"], env);
  expect(busy.code).toBe(2);
  expect(busy.stderr).toContain("app life is already deployed on");
  expect((await http.req("GET", "/v1/apps/life")).status).toBe(200);
  await cli(dir, ["stop", "life"], env);
});

test("logs --follow --timestamps prints lines as the containers write them, and the agent stops following when it goes; --since picks the containers with recent output", async () => {
  await cli(dir, ["deploy", "app.yaml"], env);
  const before = Date.now();
  await cli(dir, ["call", "life/shout", "1"], env);
  const after = Date.now();
  // Every line has the time it was printed (read by the agent from the worker's stdout), the history's too.
  const stamped = await cli(dir, ["logs", "life/shout", "--timestamps"], env);
  const printed = Date.parse(/^(\S+) \[shout-[0-9a-f]+\] shout 1$/m.exec(stamped.stdout)![1]!);
  expect(printed).toBeGreaterThanOrEqual(before);
  expect(printed).toBeLessThanOrEqual(after);
  const since = await cli(dir, ["logs", "life/shout", "--since", "10m"], env);
  expect(since.stdout).toMatch(/^\[shout-[0-9a-f]+\] shout 1$/m);
  expect((await cli(dir, ["logs", "life/shout", "--since", "abc"], env)).stderr).toContain("option '--since <duration>' argument 'abc' is invalid");

  const follower = spawn(process.execPath, [MAIN, "logs", "life/shout", "--follow", "--timestamps", "--tail", "1"], { cwd: dir, env: { ...process.env, ...env } });
  let out = "";
  follower.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await until("the history", () => out.includes("shout 1"));
  expect(out).toContain(`${new Date(printed).toISOString()} [`);
  await cli(dir, ["call", "life/shout", "2"], env);
  await until("the followed line", () => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[shout-[0-9a-f]+\] shout 2$/m.test(out));
  const followers = async (): Promise<number> => Number(/^warmpool_log_followers (\d+)$/m.exec((await http.req("GET", "/metrics")).text)![1]);
  expect(await followers()).toBe(1);
  follower.kill("SIGINT");
  await new Promise((r) => follower.once("exit", r));
  // Its client gone, the agent stops following (the timer and the stream go).
  await until("no follower left", async () => (await followers()) === 0);
  await cli(dir, ["stop", "life"], env);
});

test("container list shows each container with its function and state; exec runs a command in one and exits with its status", async () => {
  await cli(dir, ["deploy", "app.yaml"], env);
  await cli(dir, ["call", "life/square", "3"], env);
  const list = await cli(dir, ["container", "list", "life/square"], env);
  expect(list.stdout).toMatch(/^CONTAINER +APP +FUNCTION +STATE +IN FLIGHT +SERVED +REF +CREATED\nsquare-[0-9a-f]+ +life +square +ready +0 +1 +pid \d+ /);
  const json = JSON.parse((await cli(dir, ["container", "list", "-o", "json"], env)).stdout) as Array<{ id: string; app: string; function: string }>;
  const id = json.find((c) => c.function === "square")!.id;

  // In the worker's dir, with its environment; stdout and stderr apart; the command's status.
  const exec = await cli(dir, ["container", "exec", id, "--", "sh", "-c", 'pwd; echo "$WARMPOOL_CONTAINER_ID"; echo oops >&2; exit 3'], env);
  expect(exec).toEqual({ code: 3, stdout: `${fs.realpathSync(dir)}\n${id}\n`, stderr: "oops\n" });
  const doc = JSON.parse((await cli(dir, ["container", "exec", id, "-o", "json", "--", "true"], env)).stdout);
  expect(doc).toMatchObject({ container: id, app: "life", function: "square", exitCode: 0, signal: null, stdout: "", truncated: false, timedOut: false });

  // --timeout kills the command and what it started: status 124, nothing left running.
  const seconds = `${300 + (process.pid % 1000)}.25`;
  const slow = await cli(dir, ["container", "exec", id, "--timeout", "1", "--", "sh", "-c", `sleep ${seconds}; true`], env);
  expect(slow.code).toBe(124);
  expect(slow.stderr).toContain("killed after --timeout 1 s");
  expect(processesRunning(["sleep", seconds])).toEqual([]);

  // Output beyond the limit is cut and said so.
  const big = await cli(dir, ["container", "exec", id, "--", "head", "-c", "1100000", "/dev/zero"], env);
  expect(big.code).toBe(0);
  expect(big.stdout.length).toBe(1 << 20);
  expect(big.stderr).toContain("the output was cut after 1048576 bytes of a stream");

  const missing = await cli(dir, ["container", "exec", "nope-123", "--", "ls"], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('container "nope-123" is not running');
  await cli(dir, ["stop", "life"], env);
});

test("the exec API: every problem of a body named at once; admin token only", async () => {
  await cli(dir, ["deploy", "app.yaml"], env);
  await cli(dir, ["call", "life/square", "3"], env);
  const { containers } = (await http.req("GET", "/v1/containers")).body as { containers: Array<{ id: string; app: string }> };
  const id = containers.find((c) => c.app === "life")!.id;
  const bad = await http.req("POST", `/v1/containers/${id}/exec`, { command: ["", "a\u0000b"], timeoutSeconds: 0, shell: true });
  expect(bad.status).toBe(400);
  const message = bad.body.error.message as string;
  for (const part of ['unknown field "shell"', "body.command[0] is empty", "body.command[1] holds a NUL character", "body.timeoutSeconds = 0"]) expect(message).toContain(part);
  expect((await http.req("POST", `/v1/containers/${id}/exec`, { command: "ls /" })).body.error.message).toContain("body.command must be an array of 1 to 256 strings");
  expect((await http.req("POST", `/v1/containers/${id}/exec`, [])).status).toBe(400);

  const asApp = new Http(agent.url, appToken(env.WARMPOOL_TOKEN!, "life"));
  const refused = await asApp.req("POST", `/v1/containers/${id}/exec`, { command: ["true"] });
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe("WP_ERR_TOKEN_SCOPE");
  await cli(dir, ["stop", "life"], env);
});

test("the API: PUT takes YAML (and refuses bad YAML, alias bombs and deep nesting), DELETE refuses the spec file's app, logs refuses bad queries", async () => {
  const put = (body: string, type = "application/yaml") => http.req("PUT", "/v1/apps/yam", body, { "content-type": type });
  const ok = await put(["name: yam", "functions:", "  sq: {handler: 'handlers:square'}", ""].join("\n"));
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ app: "yam", functions: ["sq"] });

  const broken = await put("functions: [unclosed");
  expect(broken.status).toBe(400);
  expect(broken.body.error.message).toContain("the request body is not valid YAML");
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${"bcdefghij"[i]}: &${"bcdefghij"[i]} [${Array(9).fill(`*${"abcdefghij"[i]}`).join(", ")}]`)].join("\n");
  expect((await put(bomb)).status).toBe(400);
  expect((await put("a: " + "[".repeat(300) + "]".repeat(300))).status).toBe(400);
  expect((await put("name: yam\nfunctionz: {}\n")).body.error.code).toBe("WP_ERR_INVALID_SPEC");

  expect((await http.req("DELETE", "/v1/apps/yam")).status).toBe(200);
  expect((await http.req("DELETE", "/v1/apps/yam")).status).toBe(404);

  for (const q of ["tail=0", "tail=abc", "since=-1", "since=", "since=1e9", "follow=maybe"]) {
    const r = await http.req("GET", `/v1/apps/yam/functions/sq/logs?${q}`);
    expect(r.status).toBeGreaterThanOrEqual(400);
  }
});

test("DELETE of the app a `warmpool dev` agent was started with is 409: the file is its source", async () => {
  const d = tempDir("cli-life-dev");
  fs.writeFileSync(path.join(d, "handlers.py"), HANDLERS);
  fs.writeFileSync(path.join(d, "app.yaml"), SPEC);
  const dev = await startProcess(d, ["dev", "app.yaml", "--port", "0", "--sandbox", "none", "--log-level", "warn"]);
  try {
    const r = await cli(d, ["stop", "life"], { WARMPOOL_URL: dev.url, WARMPOOL_TOKEN: fs.readFileSync(path.join(d, ".warmpool", "token"), "utf8").trim() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("409 WP_ERR_NOT_STANDALONE");
  } finally {
    dev.child.kill("SIGTERM");
    await dev.exited;
  }
});
