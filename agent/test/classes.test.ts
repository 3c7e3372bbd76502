/**
 * Classes as Modal has them (issue 14, item 4), with a real agent and a real Python worker: a class
 * function (handler `module:Class`) serves all its `@method`s from one container pool; each input
 * names its method and parameters; each distinct parameter set gets its own instance, `@enter` once,
 * at most 8 per container (the least recently used idle one runs `@exit` and goes). The Python
 * client's `Cls` reaches it, blocking and `.aio`. A function endpoint serves one of its methods beside
 * the others (the endpoint's `method`), on the same instance.
 */
import * as path from "node:path";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { Http, RUNTIMES, TOKEN, tempDir, until } from "./helpers";
import { pyJson } from "./runtimes/python-client";

jest.setTimeout(90_000);

const CLASSES = path.resolve(__dirname, "fixtures", "classes");

let agent: Agent;
let http: Http;

beforeAll(async () => {
  agent = new Agent({ stateDir: path.join(tempDir("classes"), "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES });
  const one = { autoscaler: { maxContainers: 1 }, concurrency: { maxInputs: 4 } };
  const functions = {
    counter: { handler: "counter:Counter", ...one },
    plain: { handler: "counter:Plain", ...one },
    service: { handler: "service:Service", ...one },
    ncounter: { runtime: "node", handler: "counter.js:NodeCounter", ...one },
    nplain: { runtime: "node", handler: "counter.js:plain", ...one },
    sets: { handler: "service:Sets", autoscaler: { minContainers: 2, maxContainers: 2 }, concurrency: { maxInputs: 2, targetInputs: 1 } },
  };
  const endpoints = { api: { function: "service", method: "web", path: "/api" } };
  await agent.run([validateApp({ name: "cls", functions, endpoints }, "cls", CLASSES)]);
  http = new Http(agent.url, TOKEN);
});
afterAll(() => agent?.close());

const call = (fn: string, method: string, args: unknown[], params?: object) => http.req("POST", `/v1/apps/cls/functions/${fn}/call`, { args, method, ...(params === undefined ? {} : { params }) });

test("one pool serves every method; the default instance is made (and entered) before the container is ready", async () => {
  const a = await call("counter", "where", []);
  const b = await call("counter", "scale", [5]);
  expect(b.body).toMatchObject({ status: "succeeded", result: 5 });
  expect((await call("counter", "where", [])).body.result.pid).toBe(a.body.result.pid);
  expect((await call("counter", "hooks", [])).body.result.entered).toEqual([1]);
});

test("each parameter set gets its own instance, entered once", async () => {
  expect((await call("counter", "scale", [3], { size: 2 })).body.result).toBe(6);
  expect((await call("counter", "scale", [3], { size: 2 })).body.result).toBe(6);
  expect((await call("counter", "later", [3], { size: 7 })).body.result).toBe(10);
  expect((await call("counter", "hooks", [], { size: 2 })).body.result.entered).toEqual([1, 2, 7]);
  // A class without parameter() declarations takes them as constructor arguments.
  expect((await call("plain", "greet", ["ann"], { greeting: "hi" })).body.result).toBe("hi, ann");
  expect((await call("plain", "greet", ["bob"])).body.result).toBe("hello, bob");
});

test("at most 8 instances per container: the least recently used one runs @exit and goes", async () => {
  for (let size = 10; size < 17; size++) expect((await call("counter", "scale", [1], { size })).body.result).toBe(size);
  const { entered, exited } = (await call("counter", "hooks", [], { size: 16 })).body.result;
  // 1, 2, 7 and 10..16: 10 sets, so the two used least recently were evicted: 1, then 7 (2 was used
  // after 7, by the hooks call of the previous test).
  expect(entered).toEqual([1, 2, 7, 10, 11, 12, 13, 14, 15, 16]);
  expect(exited).toEqual([1, 7]);
});

test("a method the class does not serve, or a parameter it does not have, fails the input saying so", async () => {
  expect((await call("counter", "helper", [])).body.error).toMatchObject({ type: "InvalidMethod", message: "counter:Counter has no method 'helper'; its methods: scale, where, later, hooks" });
  expect((await call("counter", "scale", [1], { colour: "red" })).body.error).toMatchObject({ type: "InvalidMethod", message: "counter:Counter has no parameter 'colour'; its parameters: size" });
  expect((await http.call("cls", "counter", [1])).body.error).toMatchObject({ type: "InvalidMethod", message: expect.stringContaining("each input names a method") });
  const bad = await call("counter", "no such", []);
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toContain('body.method = "no such": must be a method\'s name');
});

test("the Python client: Cls.from_name(app, name)(**params).method, blocking, map and .aio", async () => {
  const code = `
import asyncio, json
from warmpool import Cls
Counter = Cls.from_name("cls", "Counter")
big = Counter(size=100)
async def aio():
    return await big.later.remote.aio(1)
print(json.dumps({"default": Counter().scale.remote(2), "big": big.scale.remote(2), "map": list(big.scale.map([1, 2])), "aio": asyncio.run(aio()), "spawn": big.scale.spawn(3).get()}))
`;
  expect(await pyJson(code, { env: { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN } })).toEqual({ default: 2, big: 200, map: [100, 200], aio: 101, spawn: 300 });
});

test("a function endpoint serves a class's method beside its other methods, on the same instance", async () => {
  const first = await call("service", "predict", [4]);
  expect(first.body.result).toMatchObject({ y: 8, served: 1 });
  const web = await http.req("GET", "/web/cls/api/items?x=7");
  expect(web.status).toBe(201);
  // The instance @enter loaded, which predict used too: the count goes on.
  expect(web.body).toEqual({ model: "weights-v1", served: 2, path: "/api/items", x: "7", pid: first.body.result.pid });
  expect((await call("service", "predict", [1])).body.result).toMatchObject({ y: 2, served: 3 });
});

test("an endpoint's method is checked against its function: only a whole class, only a function endpoint", () => {
  const spec = (handler: string, endpoint: object) => () => validateApp({ name: "bad", functions: { f: { handler } }, endpoints: { e: { function: "f", ...endpoint } } }, "bad", CLASSES);
  expect(spec("service:Service.predict", { method: "web" })).toThrow(
    'endpoints.e.method = "web": needs Function "f" to serve its whole class, but its handler service:Service.predict serves one method: set its handler to service:Service',
  );
  expect(spec("service:Service", { method: "web", kind: "webServer", port: 8000 })).toThrow('endpoints.e.method = "web": is only allowed when kind is function');
  expect(spec("service:Service", { method: "no such" })).toThrow("endpoints.e.method");
});

test("an input goes to the container where its parameter set is warm, not to one that would make it again", async () => {
  await until("both containers of sets ready", async () => ((await http.status("cls", "sets")).status.readyReplicas === 2 ? true : undefined));
  // Two at once: the first fills the oldest container's target, the second goes to the other.
  const [one, two] = await Promise.all([call("sets", "hold", [0.5], { size: 1 }), call("sets", "hold", [0.5], { size: 2 })]);
  const p1 = one.body.result as string;
  const p2 = two.body.result as string;
  expect(p1).not.toBe(p2);
  // Now both idle: by packing alone, size 2 would go to the oldest container (p1) and be made again there.
  expect((await call("sets", "hold", [0], { size: 2 })).body.result).toBe(p2);
  expect((await call("sets", "hold", [0], { size: 1 })).body.result).toBe(p1);
  // Each container made its default instance (size 0) before it was ready, and one set: no set twice.
  expect((await call("sets", "entered", [], { size: 1 })).body.result).toEqual({ container: p1, entered: [0, 1] });
  expect((await call("sets", "entered", [], { size: 2 })).body.result).toEqual({ container: p2, entered: [0, 2] });
});

test("Node: a class function serves its methods, an instance per parameter set (the constructor's object), at most 8, the least recently used one exiting", async () => {
  expect((await call("ncounter", "scale", [5])).body).toMatchObject({ status: "succeeded", result: 5 });
  expect((await call("ncounter", "scale", [3], { size: 2 })).body.result).toBe(6);
  expect((await call("ncounter", "later", [3], { size: 2 })).body.result).toBe(5);
  // The instance without parameters was made (and entered) before the container was ready.
  expect((await call("ncounter", "hooks", [])).body.result).toEqual({ entered: [1, 2], exited: [] });
  for (let size = 10; size < 17; size++) expect((await call("ncounter", "scale", [1], { size })).body.result).toBe(size);
  // 9 sets: the one used least recently (size 2) ran its exit hook and went.
  expect((await call("ncounter", "hooks", [], { size: 16 })).body.result).toEqual({ entered: [1, 2, 10, 11, 12, 13, 14, 15, 16], exited: [2] });
  expect((await call("ncounter", "_helper", [])).body.error).toMatchObject({ type: "InvalidMethod", message: "counter.js:NodeCounter has no method '_helper'; its methods: scale, later, hooks" });
  expect((await http.call("cls", "ncounter", [1])).body.error).toMatchObject({ type: "InvalidMethod", message: expect.stringContaining("each input names a method") });
  expect((await call("nplain", "scale", [1])).body.error).toMatchObject({ type: "NotAClass", message: "the handler is a function, not a class: an input cannot name method 'scale'" });
  // The Python client reaches it as it reaches a Python class.
  const code = `
import json
from warmpool import Cls
Counter = Cls.from_name("cls", "NodeCounter")
print(json.dumps([Counter(size=7).scale.remote(3), list(Counter(size=7).later.map([1, 2]))]))
`;
  expect(await pyJson(code, { env: { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN } })).toEqual([21, [8, 9]]);
});
