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
      "endpoints:",
      "  a: {function: squre, path: /a}",
      "  b: {function: web, kind: webServer, path: /ui, port: 9000}",
      "  c: {function: square, path: /ui/}",
      "schedules:",
      "  s: {function: sqaure, every: 1h}",
      "",
    ].join("\n"),
  );
  const r = await cli(dir, ["dev", "app.yaml", "--port", "0"]);
  expect(r.code).toBe(2);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("  - "))).toEqual([
    '  - functionz = {}: is not a field here; did you mean "functions"? (allowed: name, environment, image, secrets, labels, runtimeNamespace, functions, schedules, endpoints)',
    expect.stringMatching(/^ {2}- functions\.square\.autoscalr = \{"minContainers":1\}: is not a field here; did you mean "autoscaler"\? \(allowed: app, name, /),
    '  - schedules.s.function = "sqaure": must name a function of this app; did you mean "square"? (square, web)',
    '  - endpoints.a.function = "squre": must name a function of this app; did you mean "square"? (square, web)',
    '  - endpoints.b.port = 9000: differs from the webPort of Function "web" (8000): set webPort: 9000 on Function "web", or use port 8000 here',
    '  - endpoints.c.path = "/ui/": is already the path of endpoint "b", which would get every request: give each endpoint its own path',
  ]);
  expect(r.stderr).toContain('spec file "app.yaml" has 6 invalid fields:');
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
    write("handlers.py", handlers("v2"));
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
