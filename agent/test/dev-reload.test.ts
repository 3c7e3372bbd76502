/**
 * `warmpool dev`'s loop through a real process: every problem of a spec file in one run (with "did
 * you mean", endpoint paths and ports), and the reload: a changed handler gets new containers while a
 * call in flight finishes on the old code, a changed spec redeploys, a broken one is reported and the
 * running version stays; each said on stdout.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cli } from "./cli-process";
import { Http, startProcess, tempDir, until, type Running } from "./helpers";

jest.setTimeout(60_000);

test("every problem of a spec file in one run: fields with 'did you mean', references, ports and shared paths", async () => {
  const dir = tempDir("dev-problems");
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    [
      "name: demo",
      "functionz: {}",
      "functions:",
      "  square:",
      '    handler: "handlers:square"',
      "    autoscalr: {minContainers: 1}",
      "  web:",
      '    handler: "handlers:serve"',
      "    webPort: 8000",
      "  api:",
      '    handler: "handlers:api"',
      "endpoints:",
      "  a: {function: squre, path: /a}",
      "  b: {function: web, kind: webServer, path: /ui, port: 9000}",
      "  c: {function: square, path: /ui/}",
      "  d: {function: api, kind: webServer, path: /api, port: 8001}",
      "  e: {function: api, kind: webServer, path: /api2, port: 8002}",
      "schedules:",
      "  s: {function: sqaure, every: 1h}",
      "",
    ].join("\n"),
  );
  const r = await cli(dir, ["dev", "app.yaml", "--port", "0"]);
  expect(r.code).toBe(2);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("  - "))).toEqual([
    '  - functionz = {}: is not a field here; did you mean "functions"? (allowed: name, environment, image, secrets, labels, runtimeNamespace, apiToken, agentUrl, functions, schedules, endpoints)',
    expect.stringMatching(/^ {2}- functions\.square\.autoscalr = \{"minContainers":1\}: is not a field here; did you mean "autoscaler"\? \(allowed: app, name, /),
    '  - schedules.s.function = "sqaure": must name a function of this app; did you mean "square"? (square, web, api)',
    '  - endpoints.a.function = "squre": must name a function of this app; did you mean "square"? (square, web, api)',
    '  - endpoints.b.port = 9000: differs from the webPort of Function "web" (8000): set webPort: 9000 on Function "web", or use port 8000 here',
    '  - endpoints.e.port = 8002: differs from the port of endpoint "d" (8001), which serves the same function "api": a function serves HTTP on one port',
    '  - endpoints.c.path = "/ui/": is already the path of endpoint "b", which would get every request: give each endpoint its own path',
  ]);
  expect(r.stderr).toContain('spec file "app.yaml" has 7 invalid fields:');
});

describe("the reload", () => {
  let dir: string;
  let agent: Running;
  let http: Http;
  const write = (file: string, lines: string[]): void => fs.writeFileSync(path.join(dir, file), lines.join("\n") + "\n");
  const handlers = (version: string): string[] => ["import time", "def version():", `    return "${version}"`, "def slow(s):", "    time.sleep(s)", `    return "${version}"`];
  const spec = (extra: string[] = []): string[] => ["name: dw", "functions:", "  version:", '    handler: "handlers:version"', "  slow:", '    handler: "handlers:slow"', ...extra];

  beforeAll(async () => {
    dir = tempDir("dev-reload");
    write("handlers.py", handlers("v1"));
    write("app.yaml", spec());
    agent = await startProcess(dir, ["dev", "app.yaml", "--port", "0", "--sandbox", "none", "--log-level", "warn"]);
    http = new Http(agent.url, fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim());
    await until("the watch", () => agent.stdout().includes("[dev] watching . for changes"));
  });

  afterAll(async () => {
    agent.child.kill("SIGTERM");
    await agent.exited;
  });

  test("a changed handler gets new containers; the call in flight finishes on the old code", async () => {
    expect((await http.call("dw", "version", [])).body.result).toBe("v1");
    const inFlight = http.call("dw", "slow", [1.5]);
    await until("the slow call running", async () => (await http.status("dw", "slow")).status.inFlight === 1);
    // Same size and, set back, the same mtime as v1: a .pyc of v1 would pass Python's check (mtime in
    // seconds and size), as it does for an edit within the same second.
    const v1 = fs.statSync(path.join(dir, "handlers.py")).mtime;
    write("handlers.py", handlers("v2"));
    fs.utimesSync(path.join(dir, "handlers.py"), v1, v1);
    await until("the reload", () => agent.stdout().includes("[dev] handlers.py changed: new containers for dw/version, dw/slow; calls in flight finish on the old ones"));
    expect((await http.call("dw", "version", [])).body.result).toBe("v2");
    expect((await inFlight).body).toMatchObject({ status: "succeeded", result: "v1" });
    expect((await http.call("dw", "slow", [0])).body.result).toBe("v2");
  });

  test("files that are not code change nothing", async () => {
    const before = agent.stdout();
    write("notes.txt", ["hello"]);
    write("handlers.py", handlers("v3"));
    await until("the reload", () => agent.stdout().length > before.length && agent.stdout().slice(before.length).includes("handlers.py changed"));
    expect(agent.stdout().slice(before.length)).not.toContain("notes.txt");
  });

  test("a changed spec redeploys what changed; a broken one is reported with every problem, and the running version stays", async () => {
    write("app.yaml", spec(["  extra:", '    handler: "handlers:version"']));
    await until("the redeploy", () => agent.stdout().includes("[dev] app.yaml changed: redeployed dw/extra"));
    expect((await http.call("dw", "extra", [])).body.result).toBe("v3");

    write("app.yaml", ["name: dw", "functions:", "  version:", '    handlr: "handlers:version"']);
    await until("the report", () => agent.stdout().includes("[dev] app.yaml changed, and is not deployed"));
    expect(agent.stdout()).toContain('functions.version.handlr = "handlers:version": is not a field here; did you mean "handler"?');
    expect(agent.stdout()).toContain("(the running version stays)");
    expect((await http.call("dw", "extra", [])).body.result).toBe("v3");
  });
});

describe("starts that fail the same way each time fail fast", () => {
  let dir: string;
  let agent: Running;
  let http: Http;

  beforeAll(async () => {
    dir = tempDir("dev-failfast");
    // PROTOCOL.md's own example name: `site` is Python's, imported before the handler.
    fs.writeFileSync(path.join(dir, "site.py"), ["def serve():", "    pass", ""].join("\n"));
    fs.writeFileSync(
      path.join(dir, "models.py"),
      [
        "from warmpool import enter",
        "class Model:",
        "    @enter",
        "    def load(self):",
        "        raise RuntimeError('weights not found at /models/llm')",
        "    def predict(self, x):",
        "        return x",
        "",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(dir, "app.yaml"),
      [
        "name: ff",
        "functions:",
        "  ui:",
        '    handler: "site:serve"',
        "    webPort: 8123",
        "  model:",
        '    handler: "models:Model.predict"',
        "endpoints:",
        "  ui: {function: ui, kind: webServer, path: /ui, port: 8123, public: true}",
        "",
      ].join("\n"),
    );
    agent = await startProcess(dir, ["dev", "app.yaml", "--port", "0", "--sandbox", "none", "--log-level", "warn"]);
    http = new Http(agent.url, fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim());
  });

  afterAll(async () => {
    agent.child.kill("SIGTERM");
    await agent.exited;
  });

  test("a handler module named like a standard-library module gets a warning", async () => {
    await until("the warning", () => agent.stdout().includes('[dev] warning: functions.ui: handler module "site" (site.py) has the name of Python\'s standard-library module site'));
  });

  test("a held web request gets the start's error and its traceback at once, not a 503 after the startup timeout", async () => {
    const t0 = Date.now();
    const r = await http.req("GET", "/web/ff/ui/");
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("WP_ERR_START_FAILED");
    expect(r.body.error.message).toMatch(/^ff\/ui cannot start: container ui-[0-9a-f]+ exited with status 3 before it was ready$/);
    expect(r.body.error.traceback).toBe("warmpool.loader.LoadError: site has no attribute 'serve'");
    expect(r.body.error.traceback).not.toContain("warmpool/loader.py");
  });

  test("@enter raising: the call fails after one start with the hook's exception, and nothing starts again on its own", async () => {
    const r = await http.call("ff", "model", [1]);
    expect(r.body).toMatchObject({ status: "failed", error: { type: "ContainerStartupError" } });
    expect(r.body.error.traceback).toContain("RuntimeError: weights not found at /models/llm");
    expect(r.body.error.traceback).toContain('models.py", line 5, in load');
    const s = await http.status("ff", "model");
    expect(s.status).toMatchObject({ startFailures: 1, startFailureRepeats: true });
    expect(s.containers.filter((c: { state: string }) => c.state === "starting" || c.state === "ready")).toEqual([]);
  });
});

test("dev --no-watch does not watch; --log-format pretty gives readable lines on a pipe too", async () => {
  const dir = tempDir("dev-nowatch");
  fs.writeFileSync(path.join(dir, "handlers.py"), "def f(x):\n    return x\n");
  fs.writeFileSync(path.join(dir, "app.yaml"), 'name: nw\nfunctions:\n  f: {handler: "handlers:f"}\n');
  const agent = await startProcess(dir, ["dev", "app.yaml", "--port", "0", "--sandbox", "none", "--no-watch", "--log-format", "pretty"]);
  try {
    await until("the listening line", () => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: warmpool agent listening on http:/m.test(agent.stderr()));
    expect(agent.stderr()).not.toMatch(/^\{"level"/m);
    expect(agent.stdout()).not.toContain("[dev] watching");
  } finally {
    agent.child.kill("SIGTERM");
    await agent.exited;
  }
});
