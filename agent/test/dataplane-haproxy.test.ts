/**
 * The HAProxy data plane (src/dataplane/haproxy.ts) with a real HAProxy, a real agent and the
 * standard-library web server of the web-server tests: requests for a ready container go from HAProxy
 * to the web server without the agent; HAProxy's requests in flight count on the container, and a
 * draining container stops only after them; a deploy that changes the endpoints reloads HAProxy; the
 * configuration holds no token. (What clients and web servers see is the same on both data planes:
 * endpoints-webserver.test.ts runs every test on each.)
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { request } from "undici";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { fixtureVolume, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const FIXTURES = path.resolve(__dirname, "fixtures", "webserver");
let agent: Agent;
let anon: Http;
let stateDir: string;
let fixture: ReturnType<typeof fixtureVolume>;

const app = (extra: Record<string, unknown> = {}) => ({
  name: "dp",
  functions: { site: { handler: "server:serve", ...fixture.spec, autoscaler: { minContainers: 1, maxContainers: 2 } } },
  endpoints: { site: { function: "site", kind: "webServer", port: 8080, path: "/", public: true }, ...extra },
});

beforeAll(async () => {
  const dir = tempDir("dataplane");
  stateDir = path.join(dir, "state");
  agent = new Agent({ stateDir, port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, dataPlane: "haproxy" });
  fixture = fixtureVolume(stateDir, "dp");
  await agent.run([validateApp(app(), "data plane test app", FIXTURES)]);
  anon = new Http(agent.url, null);
  await until("a ready container in HAProxy", async () => (await sessionsTotal("ep_dp_site")) !== null);
}, 60_000);

afterAll(async () => {
  await agent?.close();
});

/** One command on HAProxy's runtime API. */
function runtimeApi(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path.join(stateDir, "haproxy.sock"), () => socket.end(`${command}\n`));
    let out = "";
    socket.on("data", (d) => (out += d));
    socket.on("error", reject);
    socket.on("close", () => resolve(out));
  });
}

/** HAProxy's worker process (its master is that process's parent). */
async function workerPid(): Promise<number> {
  return Number(/^Pid: (\d+)/m.exec(await runtimeApi("show info"))![1]);
}

/** Requests HAProxy has sent to the servers in rotation of `backend` (null: none in rotation). */
async function sessionsTotal(backend: string): Promise<number | null> {
  const lines = (await runtimeApi("show stat -1 4 -1")).trim().split("\n");
  const header = (lines[0] as string).replace(/^# /, "").split(",");
  const col = (name: string) => header.indexOf(name);
  let total: number | null = null;
  for (const line of lines.slice(1)) {
    const cols = line.split(",");
    if (cols[col("pxname")] !== backend || cols[col("status")] === "MAINT") continue;
    total = (total ?? 0) + Number(cols[col("stot")]);
  }
  return total;
}

test("requests for a ready container go from HAProxy to the web server, not through the agent", async () => {
  const before = (await sessionsTotal("ep_dp_site")) as number;
  const agentBefore = (await sessionsTotal("agent")) as number;
  for (let i = 0; i < 20; i++) expect((await anon.req("GET", `/web/dp/n${i}`)).body.path).toBe(`/n${i}`);
  expect(await sessionsTotal("ep_dp_site")).toBe(before + 20);
  expect(await sessionsTotal("agent")).toBe(agentBefore);
});

test("a short request between two counts still marks its container as used just now (no scale-down under sparse traffic)", async () => {
  const fn = agent.registry.lookup("dp", "site");
  const c = fn.pool.containers.find((x) => x.phase === "ready")!;
  await until("idle", () => fn.load.inFlightOn(c) === 0 && fn.load.idleSince(c) !== null);
  const before = Date.now();
  expect((await anon.req("GET", "/web/dp/short")).status).toBe(200);
  await until("marked as used", () => (fn.load.idleSince(c) ?? 0) >= before);
});

test("a request in flight in HAProxy counts on its container; draining waits for it, then the container stops", async () => {
  const fn = agent.registry.lookup("dp", "site");
  const c = fn.pool.containers.find((x) => x.phase === "ready")!;
  const res = await request(`${agent.url}/web/dp/events?gate=drain`);
  const it = res.body[Symbol.asyncIterator]();
  let seen = "";
  while (!seen.includes("event 1")) seen += String((await it.next()).value);
  await until("counted", () => fn.load.inFlightOn(c) === 1 && fn.load.inFlight === 1);
  expect(fn.drain(c.id, "test")).toBe(true);
  // Out of rotation (a new request would go to the agent), and still serving the stream it has.
  await until("out of rotation", async () => (await sessionsTotal("ep_dp_site")) === null);
  expect(c.phase).toBe("draining");
  expect(c.exit).toBeNull();
  fs.writeFileSync(path.join(fixture.dir, "drain"), "");
  for (let r = await it.next(); !r.done; r = await it.next()) seen += String(r.value);
  expect(seen).toBe("data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
  await until("stopped", () => c.exit !== null);
  // minContainers 1: the autoscaler starts another, and HAProxy routes to it.
  await until("a new container in rotation", async () => (await sessionsTotal("ep_dp_site")) !== null, 30_000);
  expect((await anon.req("GET", "/web/dp/after")).body.path).toBe("/after");
});

test("a deploy that adds an endpoint reloads HAProxy, and both endpoints are served by it", async () => {
  agent.deployer.deploy(validateApp(app({ api: { function: "site", kind: "webServer", port: 8080, path: "/api", public: false } }), "data plane test app", FIXTURES), "file");
  await until("the new backend in rotation", async () => (await sessionsTotal("ep_dp_api")) !== null, 15_000);
  const http = new Http(agent.url, TOKEN);
  expect((await http.req("GET", "/web/dp/api/x")).body).toMatchObject({ path: "/api/x", authorization: null });
  expect(await sessionsTotal("ep_dp_api")).toBe(1);
  // Without the token it is the agent's answer, as before.
  expect((await anon.req("GET", "/web/dp/api/x")).status).toBe(401);
  expect((await anon.req("GET", "/web/dp/still")).body.path).toBe("/still");
});

test("HAProxy killed: the agent starts it again on the same address, and puts the ready container back in rotation", async () => {
  // The master is the worker's parent: /proc/<pid>/stat is "pid (comm) state ppid ...".
  const worker = await until("the runtime API", () => workerPid().catch(() => undefined));
  const stat = fs.readFileSync(`/proc/${worker}/stat`, "utf8");
  const master = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  process.kill(master, "SIGKILL");
  await until("a new HAProxy", async () => ((await workerPid().catch(() => worker)) !== worker ? true : undefined), 30_000);
  await until("the container back in rotation", async () => (await sessionsTotal("ep_dp_site").catch(() => null)) !== null);
  const before = (await sessionsTotal("ep_dp_site")) as number;
  // A new connection: the old ones went with the killed process.
  const fresh = new Http(agent.url, null);
  expect((await fresh.req("GET", "/web/dp/again")).body.path).toBe("/again");
  expect(await sessionsTotal("ep_dp_site")).toBe(before + 1);
});

test("the configuration is private to the agent and holds no token", () => {
  const file = path.join(stateDir, "haproxy.cfg");
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readFileSync(file, "utf8")).not.toContain(TOKEN);
});
