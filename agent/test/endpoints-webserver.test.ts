/**
 * Web-server endpoints through a real agent: a Python standard-library HTTP server started by the
 * handler at container start, reached through the gateway with a JSON request, a POST body, a
 * server-sent event stream that arrives event by event (its last event is held back by the server until
 * the test has seen the first ones), a WebSocket echo, the token rule, and Host routing. Every test
 * runs with both data planes: the agent's own proxy, and HAProxy in front of it (dataplane/haproxy.ts),
 * which must be indistinguishable to the client and to the web server.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { request, WebSocket } from "undici";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { fixtureVolume, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const FIXTURES = path.resolve(__dirname, "fixtures", "webserver");

describe.each(["agent", "haproxy"] as const)("data plane: %s", (dataPlane) => {
  let agent: Agent;
  let http: Http;
  let anon: Http;
  let fixture: string;

  beforeAll(async () => {
    const dir = tempDir("webserver");
    agent = new Agent({ stateDir: path.join(dir, "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, dataPlane });
    const fx = fixtureVolume(agent.options.stateDir, "ws");
    fixture = fx.dir;
    const doc = {
      name: "ws",
      functions: {
        site: { handler: "server:serve", ...fx.spec, autoscaler: { maxContainers: 1 } },
        cold: { handler: "server:serve", ...fx.spec, autoscaler: { maxContainers: 1 } },
        routed: { handler: "server:routed" },
      },
      endpoints: {
        open: { function: "site", kind: "webServer", port: 8080, path: "/", public: true, domains: ["site.example.com"] },
        private: { function: "site", kind: "webServer", port: 8080, path: "/private" },
        cold: { function: "cold", kind: "webServer", port: 8080, path: "/cold", public: true, methods: ["GET"] },
        // A function endpoint under the private web server's prefix: the longer prefix wins.
        routed: { function: "routed", path: "/private/fn", public: true },
      },
    };
    await agent.run([validateApp(doc, "webserver test app", FIXTURES)]);
    http = new Http(agent.url, TOKEN);
    anon = new Http(agent.url, null);
  }, 60_000);

  afterAll(async () => {
    await agent?.close();
  });

  test("the first request starts the container from zero and is proxied with path and query", async () => {
    expect(agent.registry.lookup("ws", "site").pool.containers).toHaveLength(0);
    const r = await anon.req("GET", "/web/ws/hello?x=1");
    expect(r.status).toBe(200);
    expect(r.headers["x-served-by"]).toBe("stdlib");
    expect(r.body).toEqual({ method: "GET", path: "/hello?x=1", authorization: null });
    const posted = await anon.req("POST", "/web/ws/items", "raw body ✓", { "content-type": "text/plain" });
    expect(posted.status).toBe(201);
    expect(posted.body).toEqual({ method: "POST", path: "/items", body: "raw body ✓", framing: "length" });
    const byHost = await anon.req("GET", "/via-host", undefined, { host: "site.example.com" });
    expect(byHost.body.path).toBe("/via-host");
    const withPort = await anon.req("GET", "/via-host", undefined, { host: "SITE.example.com:8443" });
    expect(withPort.body.path).toBe("/via-host");
    // Not a port: not the domain, so the gateway path routes it.
    const notPort = await anon.req("GET", "/web/ws/by-path", undefined, { host: "site.example.com:abc" });
    expect(notPort.body.path).toBe("/by-path");
  });

  test("the web server sees the client's Host, X-Forwarded-* set by this hop, and no agent token", async () => {
    const r = await http.req("GET", "/web/ws/headers", undefined, {
      "x-forwarded-for": "10.1.2.3",
      "x-forwarded-host": "spoofed.test",
      "x-forwarded-port": "1",
      "x-warmpool-peer": "6.6.6.6",
      "x-app": "kept",
    });
    expect(r.status).toBe(200);
    const host = new URL(agent.url).host;
    expect(r.body).toMatchObject({ host, "x-forwarded-host": host, "x-forwarded-proto": "http", "x-forwarded-for": "10.1.2.3, 127.0.0.1", "x-app": "kept" });
    expect(r.body["x-forwarded-port"]).toBeUndefined();
    // What HAProxy tells the agent about the client: never taken from a client, never passed on.
    expect(r.body["x-warmpool-peer"]).toBeUndefined();
    expect(r.body.authorization).toBeUndefined();
  });

  test("the longest prefix wins at a segment boundary, whichever kind of endpoint it is", async () => {
    const nested = await http.req("GET", "/web/ws/private/fn/x");
    expect(nested.body).toEqual({ answeredBy: "function", path: "/private/fn/x" });
    // Not a segment boundary: the private web server's prefix does not match, "/" does.
    const sibling = await http.req("GET", "/web/ws/privateer");
    expect(sibling.body).toEqual({ method: "GET", path: "/privateer", authorization: null });
    expect((await http.req("GET", "/web/ws/private")).body.path).toBe("/private");
    expect((await http.req("GET", "/web/ws")).body.path).toBe("/");
    expect((await http.req("GET", "/web/nope/x")).status).toBe(404);
  });

  test("token required unless public; the agent's token is not passed on to the app", async () => {
    expect((await anon.req("GET", "/web/ws/private/x")).status).toBe(401);
    const r = await http.req("GET", "/web/ws/private/x");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ method: "GET", path: "/private/x", authorization: null });
  });

  test("server-sent events stream through event by event", async () => {
    const res = await request(`${agent.url}/web/ws/events?gate=sse-${dataPlane}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    let seen = "";
    const it = res.body[Symbol.asyncIterator]();
    while (!seen.includes("event 1")) seen += String((await it.next()).value);
    // The server holds event 2 back until the gate file exists: what we have came through while it waits.
    expect(seen).toBe("data: event 0\n\ndata: event 1\n\n");
    fs.writeFileSync(path.join(fixture, `sse-${dataPlane}`), "");
    for (let r = await it.next(); !r.done; r = await it.next()) seen += String(r.value);
    expect(seen).toBe("data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
  });

  test("a WebSocket upgrade is proxied: echo both ways, then close", async () => {
    const ws = new WebSocket(`${agent.url.replace("http", "ws")}/web/ws/socket`);
    const messages: string[] = [];
    ws.addEventListener("message", (e) => messages.push(String(e.data)));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("websocket error")));
    });
    ws.send("hello");
    ws.send("x".repeat(300));
    await until("echoes", () => messages.length === 2);
    expect(messages).toEqual(["hello", "x".repeat(300)]);
    const fn = agent.registry.lookup("ws", "site");
    // An open WebSocket keeps its container busy (HAProxy's sessions are counted within its poll interval).
    await until("counted", () => fn.load.inFlightOn(fn.pool.containers[0]!) === 1);
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
    ws.close();
    await closed;
    await until("released", () => fn.load.inFlightOn(fn.pool.containers[0]!) === 0);
  });

  test("a burst of 50 requests at zero containers is held until the server is up: every one answered", async () => {
    expect(agent.registry.lookup("ws", "cold").pool.containers).toHaveLength(0);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => anon.req("GET", `/web/ws/cold/n${i}`)));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.map((r) => r.body.path)).toEqual(results.map((_, i) => `/cold/n${i}`));
    expect(agent.registry.lookup("ws", "cold").pool.containers).toHaveLength(1);
    // Methods are checked for web-server endpoints too.
    expect((await anon.req("POST", "/web/ws/cold/x", "{}")).status).toBe(405);
  });
});
