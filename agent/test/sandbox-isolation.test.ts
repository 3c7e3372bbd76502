/**
 * Isolation of sandboxed workers (backends/local/sandbox), attacked from inside: a real agent process
 * (`warmpool agent`, with a secret in its own environment and its state dir inside the app's dir, where
 * the app dir's bind would show it) runs a probe handler next to another function of the same app that
 * holds a secret in its environment, and a second app whose dir (with a secret file) lies inside the
 * first app's dir. The probe is told
 * every host path to try (an attacker would find them in /proc/<ppid>/cmdline) and reports what it saw;
 * each attempt is asserted on its own:
 * - /proc/<ppid>/environ and cmdline, and the environ and cmdline of every pid it can see;
 * - the token file, the database, the state dir, the other function's log, the other app's dir;
 * - the agent's API (/v1/apps) with every token it found (only its own App's, which may not list the
 *   apps), and without one.
 * A control: the probe does read its own app dir and its own environment.
 *
 * `WARMPOOL_SANDBOX=none npx jest sandbox-isolation` runs the same attack on unsandboxed workers (it
 * fails on each of the points above).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { appToken } from "../src/token";
import { FIXTURES, Http, processesRunning, startProcess, tempDir, until, type Running } from "./helpers";

const PROBE = path.resolve(__dirname, "fixtures", "probe", "probe.py");
const AGENT_SECRET = "agent-env-secret-5f1d0c";
const OTHER_SECRET = "other-function-secret-9c2e77";
const NEIGHBOUR_SECRET = "neighbour-app-secret-41aa03";

let agent: Running;
let seen: any;
let token: string;
const paths: Record<string, string> = {};

beforeAll(async () => {
  const root = tempDir("iso");
  const appDir = path.join(root, "app");
  // Inside this app's dir, so its bind would show the other app's files unless hidden.
  const neighbourDir = path.join(appDir, "neighbour");
  for (const d of [appDir, neighbourDir]) {
    fs.mkdirSync(d, { mode: 0o755 });
    fs.chmodSync(d, 0o755);
    fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(d, "handlers.py"));
  }
  fs.copyFileSync(PROBE, path.join(appDir, "probe.py"));
  fs.writeFileSync(path.join(neighbourDir, "secret.txt"), NEIGHBOUR_SECRET, { mode: 0o644 });
  const stateDir = path.join(appDir, ".warmpool");
  agent = await startProcess(root, ["agent", "--port", "0", "--state-dir", stateDir, "--log-level", "warn"], { ...process.env, AGENT_SECRET });
  token = fs.readFileSync(path.join(stateDir, "token"), "utf8").trim();
  const http = new Http(agent.url, token);
  const iso = { functions: { probe: { handler: "probe:run" }, other: { handler: "handlers:square", env: { OTHER_SECRET }, autoscaler: { minContainers: 1 } } } };
  expect((await http.req("PUT", `/v1/apps/iso?dir=${encodeURIComponent(appDir)}`, iso)).status).toBe(200);
  const neighbour = { functions: { n: { handler: "handlers:square", autoscaler: { minContainers: 1 } } } };
  expect((await http.req("PUT", `/v1/apps/neighbour?dir=${encodeURIComponent(neighbourDir)}`, neighbour)).status).toBe(200);
  // The other function's worker runs (its secret is in a live process) and has written its log.
  await until("the other function ready", async () => (await http.status("iso", "other")).status?.readyReplicas === 1 || undefined, 30_000);
  await until("the other app ready", async () => (await http.status("neighbour", "n")).status?.readyReplicas === 1 || undefined, 30_000);
  const logs = path.join(stateDir, "logs", "iso", "other");
  Object.assign(paths, {
    token: path.join(stateDir, "token"),
    database: path.join(stateDir, "state.db"),
    stateDir,
    otherLog: path.join(logs, fs.readdirSync(logs)[0] as string),
    neighbourSecret: path.join(neighbourDir, "secret.txt"),
    neighbourDir,
    ownHandler: path.join(appDir, "probe.py"),
  });
  const r = await http.call("iso", "probe", [{ url: agent.url, paths: Object.values(paths) }]);
  expect(r.body.status).toBe("succeeded");
  seen = r.body.result;
}, 90_000);

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
});

/** Every string the probe read out of /proc. */
function procTexts(): string[] {
  const out: string[] = [];
  for (const p of Object.values(seen.procs) as Array<{ environ: { ok: boolean; value?: string }; cmdline: { ok: boolean; value?: string } }>) {
    for (const a of [p.environ, p.cmdline]) if (a.ok) out.push(a.value as string);
  }
  return out;
}

test("control: the probe reads its own app dir and its own environment", () => {
  expect(seen.paths[paths.ownHandler!]).toMatchObject({ ok: true, value: expect.stringContaining("def run(targets)") });
  expect(procTexts().some((t) => t.includes("WARMPOOL_HANDLER=probe:run"))).toBe(true);
});

test("/proc/<ppid>/environ holds nothing of the agent's environment", () => {
  expect(seen.ppid_environ.ok ? seen.ppid_environ.value : "").not.toContain(AGENT_SECRET);
});

test("/proc/<ppid>/cmdline is not the agent's and names no state dir", () => {
  const cmdline = seen.ppid_cmdline.ok ? (seen.ppid_cmdline.value as string) : "";
  expect(cmdline).not.toContain("main.js");
  expect(cmdline).not.toContain(paths.stateDir);
});

test("no process it can see is the agent or another worker: only its own sandbox's", () => {
  const pids = Object.keys(seen.procs).map(Number);
  expect(pids.every((pid) => pid < 10)).toBe(true); // its own pid namespace: the reaper (1), the worker (2)
  const texts = procTexts().join("\n");
  expect(texts).not.toContain(AGENT_SECRET);
  expect(texts).not.toContain(OTHER_SECRET);
  expect(texts).not.toContain("main.js");
  expect(texts).not.toContain(paths.stateDir);
});

test("the token file cannot be read", () => {
  expect(seen.paths[paths.token!]).toMatchObject({ ok: false });
});

test("the database cannot be read, nor the state dir listed", () => {
  expect(seen.paths[paths.database!]).toMatchObject({ ok: false });
  const listing = seen.paths[paths.stateDir!];
  // Hidden behind an empty tmpfs: it lists, empty.
  expect(listing.ok ? listing.value : []).toEqual([]);
});

test("another function's secret is nowhere in sight", () => {
  expect(JSON.stringify(seen)).not.toContain(OTHER_SECRET);
});

test("another function's log cannot be read", () => {
  expect(seen.paths[paths.otherLog!]).toMatchObject({ ok: false });
});

test("another app's dir is not there", () => {
  expect(seen.paths[paths.neighbourSecret!]).toMatchObject({ ok: false });
  expect(JSON.stringify(seen)).not.toContain(NEIGHBOUR_SECRET);
  const listing = seen.paths[paths.neighbourDir!];
  expect(listing.ok ? listing.value : []).toEqual([]);
});

test("no token found but its own App's, and the agent's API refuses it beyond that App", () => {
  // The worker's own environment holds its App's token (WARMPOOL_TOKEN, for calls from inside); the agent's is nowhere.
  expect(seen.tokens).toEqual([appToken(token, "iso")]);
  expect(JSON.stringify(seen)).not.toContain(token);
  expect(seen.api).toEqual({ none: 401, [appToken(token, "iso")]: 403 });
});

test("container exec runs inside the worker's sandbox: its user, its environment, its view of files and processes; its timeout kills what it started", async () => {
  const http = new Http(agent.url, token);
  const { containers } = (await http.req("GET", "/v1/containers")).body as { containers: Array<{ id: string; app: string; function: string }> };
  const id = containers.find((c) => c.app === "iso" && c.function === "other")!.id;
  const exec = async (command: string[], timeoutSeconds?: number): Promise<any> => {
    const r = await http.req("POST", `/v1/containers/${id}/exec`, { command, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) });
    expect(r.status).toBe(200);
    return r.body;
  };
  const tests = Object.values(paths)
    .map((p) => `test -e '${p}' && echo "SEEN ${p}";`)
    .join(" ");
  const masks = `echo "masked $( (ls -A '${paths.stateDir}'; ls -A '${paths.neighbourDir}') | grep -c .)";`;
  const r = await exec(["sh", "-c", `id -u; echo "$OTHER_SECRET"; echo "agent:$AGENT_SECRET"; ${tests} ${masks} ls /proc | grep -c '^[0-9]'`]);
  const lines = (r.stdout as string).trim().split("\n");
  expect(r.exitCode).toBe(0);
  // The worker's user (root agent: the unprivileged sandbox user), and the worker's environment, not the agent's.
  expect(lines[0]).toBe(String(process.getuid?.() === 0 ? 65534 : process.getuid?.()));
  expect(lines[1]).toBe(OTHER_SECRET);
  expect(lines[2]).toBe("agent:");
  // Of the agent's paths and the other app's, only its own app's files are there; the state dir and the other app's dir are empty masks.
  expect(lines.filter((l) => l.startsWith("SEEN ")).sort()).toEqual([paths.stateDir, paths.neighbourDir, paths.ownHandler].map((p) => `SEEN ${p}`).sort());
  expect(lines).toContain("masked 0");
  // Its own pid namespace: the sandbox's reaper, the worker, sh, ls and grep.
  expect(Number(lines[lines.length - 1])).toBeLessThanOrEqual(6);

  const seconds = `${400 + (process.pid % 1000)}.75`;
  const slow = await exec(["sh", "-c", `sleep ${seconds}; true`], 1);
  expect(slow).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
  expect(processesRunning(["sleep", seconds])).toEqual([]);
  // The container serves on after it.
  expect((await http.call("iso", "other", [4])).body.result).toBe(16);
});
