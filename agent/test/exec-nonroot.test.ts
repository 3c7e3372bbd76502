/**
 * `warmpool container exec` into the sandbox of an agent that is not root (bubblewrap in user
 * namespaces, the worker's nested in the one that owns its other namespaces: sandbox/enter-nested.ts).
 * The usual case on a developer's machine; run as the unprivileged user 65534 when the test runs as root.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES, Http, startProcess, tempDir, until, type Running } from "./helpers";

jest.setTimeout(60_000);

const root = process.getuid?.() === 0;
let agent: Running;
let http: Http;

beforeAll(async () => {
  const dir = tempDir("exec-nonroot");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(path.join(dir, "app.yaml"), ["name: nr", "functions:", "  sq:", '    handler: "handlers:square"', "    env: {SEKRIT: s3}", "    autoscaler: {minContainers: 1}", ""].join("\n"));
  if (root) {
    fs.chmodSync(dir, 0o755);
    execFileSync("chown", ["-R", "65534:65534", dir]);
  }
  // A PATH the unprivileged user can use (the test's may lead through root's home).
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: dir, LANG: "C.UTF-8" };
  agent = await startProcess(dir, ["dev", "app.yaml", "--port", "0", "--log-level", "warn"], env, root ? ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"] : []);
  http = new Http(agent.url, fs.readFileSync(path.join(dir, ".warmpool", "token"), "utf8").trim());
  await until("the container ready", async () => ((await http.status("nr", "sq")).status?.readyReplicas === 1 ? true : undefined), 30_000);
});

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
});

test("the command runs in the worker's sandbox, as its user, with its environment; its status and timeout hold", async () => {
  const { containers } = (await http.req("GET", "/v1/containers")).body as { containers: Array<{ id: string }> };
  const id = containers[0]!.id;
  const r = await http.req("POST", `/v1/containers/${id}/exec`, { command: ["sh", "-c", 'id -u; echo "$SEKRIT"; ls /proc | grep -c "^[0-9]"; ls -A .warmpool | wc -l; exit 3'] });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ exitCode: 3, stderr: "" });
  const [uid, secret, processes, stateFiles] = (r.body.stdout as string).trim().split("\n");
  expect(uid).toBe(String(root ? 65534 : process.getuid?.()));
  expect(secret).toBe("s3");
  // Its own pid namespace (the sandbox's reaper, the worker, sh, ls, grep) and the state dir masked.
  expect(Number(processes)).toBeLessThanOrEqual(6);
  expect(stateFiles).toBe("0");
  const slow = await http.req("POST", `/v1/containers/${id}/exec`, { command: ["sleep", "30"], timeoutSeconds: 1 });
  expect(slow.body).toMatchObject({ timedOut: true });
  expect((await http.call("nr", "sq", [5])).body.result).toBe(25);
});
