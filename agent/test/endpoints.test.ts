/**
 * Function endpoints through a real agent and real workers: the request reaches the handler, a
 * `Response` sets status and headers (both runtimes), token vs public, Host routing for a domain, the
 * 303 path past syncTimeout (the clock is stepped, not waited for), a burst of 50 requests at zero
 * containers all answered, and requests beyond maxPendingRequests refused with a JSON 503.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Agent } from "../src/agent";
import { ManualClock } from "../src/clock";
import { validateApp } from "../src/spec/load";
import { fixtureVolume, Http, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const WEB_FIXTURES = path.resolve(__dirname, "fixtures", "web");
let agent: Agent;
let http: Http;
let anon: Http;
let fixture: string;
const clock = new ManualClock();

beforeAll(async () => {
  const dir = tempDir("web");
  agent = new Agent({ stateDir: path.join(dir, "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, clock, tickMs: 600_000 });
  const fx = fixtureVolume(agent.options.stateDir, "w");
  fixture = fx.dir;
  const env = fx.spec.env;
  const volumes = fx.spec.volumes;
  const doc = {
    name: "w",
    functions: {
      api: { handler: "handlers:api", env, volumes, concurrency: { maxInputs: 8 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
      jsapi: { handler: "handlers:api", runtime: "node", autoscaler: { minContainers: 1, maxContainers: 1 } },
      hello: { handler: "handlers:hello", env, volumes, concurrency: { maxInputs: 10 }, autoscaler: { maxContainers: 2 } },
      gated: { handler: "handlers:gated", env, volumes, concurrency: { maxInputs: 10 }, autoscaler: { minContainers: 1, maxContainers: 1 } },
      burst: { handler: "handlers:hello", env, volumes, concurrency: { maxInputs: 10 }, autoscaler: { maxContainers: 2 } },
      held: { handler: "handlers:hello", env, volumes, autoscaler: { maxContainers: 1 } },
      fails: { handler: "handlers:fails", env, volumes, autoscaler: { minContainers: 1, maxContainers: 1 } },
    },
    endpoints: {
      api: { function: "api", path: "/api", methods: ["GET", "POST"] },
      js: { function: "jsapi", path: "/js", methods: ["GET", "POST"], public: true },
      hello: { function: "hello", path: "/hello", public: true },
      slow: { function: "gated", path: "/slow", syncTimeout: 5 },
      burst: { function: "burst", path: "/burst", public: true },
      held: { function: "held", path: "/held", public: true, maxPendingRequests: 2 },
      fails: { function: "fails", path: "/fails", public: true },
      domain: { function: "api", domains: ["api.example.com"], public: true },
    },
  };
  await agent.run([validateApp(doc, "web test app", WEB_FIXTURES)]);
  http = new Http(agent.url, TOKEN);
  anon = new Http(agent.url, null);
}, 60_000);

afterAll(async () => {
  await agent?.close();
});

test("a request becomes a call: method, path, query and JSON body reach the handler; the result is the JSON response", async () => {
  const r = await http.req("POST", "/web/w/api/things?x=1&y=two", { a: [1, 2] }, { "user-agent": "tests" });
  expect(r.status).toBe(200);
  expect(r.headers["content-type"]).toContain("application/json");
  expect(r.body).toEqual({ method: "POST", path: "/api/things", query: { x: "1", y: "two" }, body: { a: [1, 2] }, agent: "tests" });
});

test("Response sets status, headers and a text body (Python and Node)", async () => {
  const created = await http.req("POST", "/web/w/api/items", { name: "pen" });
  expect(created.status).toBe(201);
  expect(created.headers["x-item-id"]).toBe("7");
  expect(created.headers.location).toBe("/items/7");
  expect(created.body).toEqual({ created: { name: "pen" } });
  const text = await http.req("GET", "/web/w/api/text");
  expect(text.status).toBe(202);
  expect(text.headers["content-type"]).toBe("text/plain; charset=utf-8");
  expect(text.text).toBe("plain words");
  expect((await http.req("GET", "/web/w/api/teapot")).status).toBe(418);
  const js = await anon.req("POST", "/web/w/js/x", [3]);
  expect(js.status).toBe(201);
  expect(js.headers["x-runtime"]).toBe("node");
  expect(js.body).toEqual({ created: [3] });
  expect((await anon.req("GET", "/web/w/js/y?k=v")).body).toEqual({ path: "/js/y", query: { k: "v" } });
});

test("token required unless public; wrong method, unknown path and a failing handler answer JSON errors", async () => {
  expect((await anon.req("GET", "/web/w/api/x")).body.error.code).toBe("WP_ERR_UNAUTHORIZED");
  expect((await anon.req("GET", "/web/w/api/x")).status).toBe(401);
  const wrong = new Http(agent.url, "nope");
  expect((await wrong.req("GET", "/web/w/api/x")).status).toBe(403);
  expect((await anon.req("GET", "/web/w/hello?name=ada")).body).toEqual({ hello: "ada" });
  const del = await anon.req("DELETE", "/web/w/hello");
  expect(del.status).toBe(405);
  expect(del.headers.allow).toBe("GET, POST");
  expect((await anon.req("GET", "/web/nope/x")).body.error.code).toBe("WP_ERR_ENDPOINT_NOT_FOUND");
  const failed = await anon.req("GET", "/web/w/fails/now");
  expect(failed.status).toBe(500);
  expect(failed.body.error).toMatchObject({ code: "WP_ERR_HANDLER_FAILED", type: "RuntimeError", message: "handler failed on /fails/now" });
});

test("a request whose Host is an endpoint's domain is routed to it at any path", async () => {
  const r = await anon.req("GET", "/anything/here?q=1", undefined, { host: "api.example.com" });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ path: "/anything/here", query: { q: "1" } });
  // Every path of the domain belongs to the endpoint, the API's too.
  expect((await http.req("GET", "/v1/apps", undefined, { host: "api.example.com:8080" })).body).toMatchObject({ path: "/v1/apps" });
});

test("past syncTimeout: 303 to the call, which the caller polls for the result", async () => {
  const pending = http.req("GET", "/web/w/slow?gate=g303");
  const fn = agent.registry.lookup("w", "gated");
  await until("running", () => fn.load.inFlight === 1);
  clock.advance(5000);
  const r = await pending;
  expect(r.status).toBe(303);
  expect(r.headers.location).toBe(`/v1/calls/${r.body.callId}`);
  expect((await http.get(r.body.callId)).body.status).toMatch(/pending|running/);
  fs.writeFileSync(path.join(fixture, "g303"), "");
  await until("stored result", async () => (await http.get(r.body.callId)).body.status === "succeeded");
  expect((await http.get(r.body.callId)).body.result).toEqual({ released: "g303" });
});

test("a burst of 50 requests at zero containers: every one answered", async () => {
  const fn = agent.registry.lookup("w", "burst");
  expect(fn.pool.containers).toHaveLength(0);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => anon.req("GET", `/web/w/burst?name=n${i}`)));
  expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
  expect(results.map((r) => r.body.hello)).toEqual(results.map((_, i) => `n${i}`));
});

test("at zero containers at most maxPendingRequests are held; the rest get a JSON 503", async () => {
  const fn = agent.registry.lookup("w", "held");
  expect(fn.pool.containers).toHaveLength(0);
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => anon.req("GET", `/web/w/held?name=h${i}`)));
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status === 503);
  expect(ok).toHaveLength(2);
  expect(refused).toHaveLength(3);
  expect(refused[0]!.body.error).toMatchObject({ code: "WP_ERR_ENDPOINT_OVERLOADED", limit: 2 });
  expect(refused[0]!.headers["retry-after"]).toBe("1");
});

test("a function endpoint whose handler keeps failing opens the function's breaker: 503 WP_ERR_FUNCTION_FAILING with Retry-After", async () => {
  let failures = 0;
  for (;;) {
    const r = await anon.req("GET", "/web/w/fails/again");
    if (r.status !== 500) {
      expect(r.status).toBe(503);
      expect(r.headers["retry-after"]).toBe("10");
      expect(r.body.error).toMatchObject({ code: "WP_ERR_FUNCTION_FAILING", retryAfter: 10 });
      break;
    }
    failures++;
    expect(failures).toBeLessThanOrEqual(20);
  }
  // 20 failed attempts (one of them an earlier test's) open it: no request runs the handler meanwhile.
  expect(failures).toBeGreaterThanOrEqual(19);
});
