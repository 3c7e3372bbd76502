/**
 * Dicts and Queues (issue 14, item 5): a real agent with its SQLite store, used over HTTP, from the
 * Python client in a separate process (blocking and asyncio), and from real sandboxed Python workers
 * with their App's token. Also: bounds with their errors, per-key TTL on a manual clock, FIFO and
 * blocking gets, durability across a restart.
 */
import * as path from "node:path";
import { Agent } from "../src/agent";
import { ManualClock } from "../src/clock";
import { validateApp } from "../src/spec/load";
import { appToken } from "../src/token";
import { Http, RUNTIMES, TOKEN, tempDir } from "./helpers";
import { pyJson } from "./runtimes/python-client";

jest.setTimeout(90_000);

const STORES = path.resolve(__dirname, "fixtures", "collections");

describe("over HTTP, on one agent", () => {
  let agent: Agent;
  let http: Http;
  let stateDir: string;
  const clock = new ManualClock(1_000_000);

  beforeAll(async () => {
    stateDir = path.join(tempDir("coll"), "state");
    agent = new Agent({ stateDir, port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, clock, dictMaxEntries: 3, queueMaxItems: 4, collectionValueMaxKiB: 1, maxCollections: 7 });
    await agent.run();
    http = new Http(agent.url, TOKEN);
  });
  afterAll(() => agent?.close());

  test("a Dict: create, put, get, contains, pop, len, items in key order with paging", async () => {
    expect((await http.req("PUT", "/v1/dicts/d1")).body).toEqual({ name: "d1", app: null, created: true });
    expect((await http.req("PUT", "/v1/dicts/d1")).body.created).toBe(false);
    const put = await http.req("POST", "/v1/dicts/d1/put", {
      items: [
        { key: "a", value: { x: [1, 2] } },
        { key: ["t", 1], value: null },
      ],
    });
    expect(put.body).toEqual({ written: 2, len: 2 });
    expect((await http.req("POST", "/v1/dicts/d1/get", { key: "a" })).body).toEqual({ found: true, value: { x: [1, 2] } });
    expect((await http.req("POST", "/v1/dicts/d1/get", { key: ["t", 1] })).body).toEqual({ found: true, value: null });
    expect((await http.req("POST", "/v1/dicts/d1/get", { key: "zz" })).body).toEqual({ found: false });
    expect((await http.req("POST", "/v1/dicts/d1/contains", { key: "a" })).body).toEqual({ found: true });
    expect((await http.req("GET", "/v1/dicts/d1")).body).toEqual({ name: "d1", app: null, len: 2 });
    const page1 = await http.req("GET", "/v1/dicts/d1/items?limit=1");
    expect(page1.body).toEqual({ items: [{ key: "a", value: { x: [1, 2] } }], next: '"a"' });
    const page2 = await http.req("GET", `/v1/dicts/d1/items?limit=1&after=${encodeURIComponent(page1.body.next)}`);
    expect(page2.body.items).toEqual([{ key: ["t", 1], value: null }]);
    expect((await http.req("POST", "/v1/dicts/d1/pop", { key: "a" })).body).toEqual({ found: true, value: { x: [1, 2] } });
    expect((await http.req("POST", "/v1/dicts/d1/pop", { key: "a" })).body).toEqual({ found: false });
    expect((await http.req("POST", "/v1/dicts/d1/put", { items: [{ key: ["t", 1], value: 5 }], skipIfExists: true })).body.written).toBe(0);
  });

  test("per-key TTL: an entry is gone once its time has passed", async () => {
    await http.req("PUT", "/v1/dicts/ttl");
    await http.req("POST", "/v1/dicts/ttl/put", { items: [{ key: "short", value: 1 }], ttl: 10 });
    await http.req("POST", "/v1/dicts/ttl/put", { items: [{ key: "long", value: 2 }] });
    clock.advance(9_999);
    expect((await http.req("POST", "/v1/dicts/ttl/get", { key: "short" })).body).toEqual({ found: true, value: 1 });
    clock.advance(1);
    expect((await http.req("POST", "/v1/dicts/ttl/get", { key: "short" })).body).toEqual({ found: false });
    expect((await http.req("GET", "/v1/dicts/ttl")).body.len).toBe(1);
  });

  test("bounds: entries per Dict, items per partition, value size; each refusal says what and changes nothing", async () => {
    await http.req("PUT", "/v1/dicts/full");
    const items = (keys: string[]) => ({ items: keys.map((key) => ({ key, value: 0 })) });
    expect((await http.req("POST", "/v1/dicts/full/put", items(["a", "b"]))).status).toBe(200);
    const over = await http.req("POST", "/v1/dicts/full/put", items(["a", "c", "d"]));
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: "WP_ERR_COLLECTION_FULL", len: 2, limit: 3 });
    expect(over.body.error.message).toBe('dict "full" holds 2 entries (limit 3): 3 entries more would pass it; remove some first');
    expect((await http.req("GET", "/v1/dicts/full")).body.len).toBe(2);
    // Overwriting keys it has adds none.
    expect((await http.req("POST", "/v1/dicts/full/put", items(["a", "b", "c"]))).body).toEqual({ written: 3, len: 3 });

    await http.req("PUT", "/v1/queues/qfull");
    expect((await http.req("POST", "/v1/queues/qfull/put", { values: [1, 2, 3, 4] })).body).toEqual({ len: 4 });
    const qover = await http.req("POST", "/v1/queues/qfull/put", { values: [5] });
    expect(qover.status).toBe(409);
    expect(qover.body.error.code).toBe("WP_ERR_COLLECTION_FULL");
    // Another partition has its own room.
    expect((await http.req("POST", "/v1/queues/qfull/put", { values: [5], partition: "other" })).body).toEqual({ len: 1 });

    const big = await http.req("POST", "/v1/queues/qfull/put", { values: ["x".repeat(2000)], partition: "p" });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: "WP_ERR_VALUE_TOO_LARGE", message: "values[0] of the request is 2002 bytes as JSON; the limit is 1024 bytes" });
  });

  test("bounds: Dicts per namespace (each App has its own count)", async () => {
    const own = new Http(agent.url, appToken(TOKEN, "counted"));
    for (let i = 0; i < 7; i++) expect((await own.req("PUT", `/v1/dicts/d${i}`)).status).toBe(200);
    const over = await own.req("PUT", "/v1/dicts/d7");
    expect(over.status).toBe(409);
    expect(over.body.error.message).toBe('app "counted" holds 7 dicts (limit 7): 1 dict more would pass it; remove some first');
    expect((await own.req("PUT", "/v1/dicts/d0")).body.created).toBe(false);
    expect((await own.req("PUT", "/v1/queues/q0")).status).toBe(200);
    expect((await own.req("DELETE", "/v1/dicts/d0")).body.deleted).toBe(true);
    expect((await own.req("PUT", "/v1/dicts/d7")).status).toBe(200);
  });

  test("bad input: one clear error naming the request, the field and the value", async () => {
    await http.req("PUT", "/v1/dicts/bad");
    const cases: Array<[string, string, unknown, string]> = [
      ["POST", "/v1/dicts/bad/get", { key: { a: 1 } }, 'key = {"a":1}: a key must be a string, number, boolean, null or an array of them'],
      ["POST", "/v1/dicts/bad/put", { items: [] }, "POST /v1/dicts/{name}/put: items = []: must be an array of 1 to 1000 items"],
      ["POST", "/v1/dicts/bad/put", { items: [{ key: "k", value: 1 }], ttl: -1 }, "POST /v1/dicts/{name}/put: ttl = -1: must be a number of seconds above 0"],
      ["POST", "/v1/dicts/bad/put", { items: [{ key: "k" }] }, "items[0].value is required"],
      ["PUT", "/v1/dicts/..bad", undefined, 'dict name "..bad": must be 1 to 64 letters'],
      ["GET", "/v1/dicts/bad/items?limit=0", undefined, 'query parameter limit = "0": must be an integer from 1 to 1000'],
    ];
    for (const [method, p, body, message] of cases) {
      const r = await http.req(method as "GET", p, body);
      expect([p, r.status, r.body.error.code]).toEqual([p, 400, "WP_ERR_BAD_REQUEST"]);
      expect(r.body.error.message).toContain(message);
    }
    const missing = await http.req("POST", "/v1/dicts/nope/get", { key: 1 });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "WP_ERR_DICT_NOT_FOUND", message: expect.stringContaining("create it with PUT /v1/dicts/nope") });
    expect((await http.req("POST", "/v1/queues/nope/put", { values: [1] })).body.error.code).toBe("WP_ERR_QUEUE_NOT_FOUND");
    expect((await new Http(agent.url, null).req("GET", "/v1/dicts/bad")).status).toBe(401);
  });

  test("a Queue: FIFO per partition, get_many, and a blocking get woken by a put", async () => {
    await http.req("PUT", "/v1/queues/q");
    await http.req("POST", "/v1/queues/q/put", { values: ["a", "b", "c"] });
    await http.req("POST", "/v1/queues/q/put", { values: ["x"], partition: "p" });
    expect((await http.req("GET", "/v1/queues/q")).body.len).toBe(4);
    expect((await http.req("GET", "/v1/queues/q?partition=")).body.len).toBe(3);
    expect((await http.req("POST", "/v1/queues/q/get", { n: 2 })).body).toEqual({ values: ["a", "b"] });
    expect((await http.req("POST", "/v1/queues/q/get", { partition: "p" })).body).toEqual({ values: ["x"] });
    expect((await http.req("POST", "/v1/queues/q/get", { n: 5 })).body).toEqual({ values: ["c"] });
    expect((await http.req("POST", "/v1/queues/q/get", {})).body).toEqual({ values: [] });
    // Waits on the agent (the manual clock never reaches its timeout): only the put ends it.
    const waiting = http.req("POST", "/v1/queues/q/get", { timeout: 30 });
    const first = await Promise.race([waiting.then(() => "answered"), http.req("GET", "/v1/queues/q").then(() => "still waiting")]);
    expect(first).toBe("still waiting");
    await http.req("POST", "/v1/queues/q/put", { values: [42] });
    expect((await waiting).body).toEqual({ values: [42] });
  });

  test("a Queue's items read in place (Modal's Queue.iterate): in order after a position, and a wait woken by a put", async () => {
    await http.req("PUT", "/v1/queues/peek");
    await http.req("POST", "/v1/queues/peek/put", { values: ["a", "b", "c"] });
    await http.req("POST", "/v1/queues/peek/put", { values: ["x"], partition: "p" });
    const first = (await http.req("GET", "/v1/queues/peek/items?limit=2")).body;
    expect(first.values).toEqual(["a", "b"]);
    const rest = (await http.req("GET", `/v1/queues/peek/items?after=${first.next}`)).body;
    expect(rest.values).toEqual(["c"]);
    expect((await http.req("GET", "/v1/queues/peek/items?partition=p")).body.values).toEqual(["x"]);
    // Nothing was taken.
    expect((await http.req("GET", "/v1/queues/peek?partition=")).body.len).toBe(3);
    // Caught up: waits on the agent (the manual clock never reaches its timeout) until a put.
    const waiting = http.req("GET", `/v1/queues/peek/items?after=${rest.next}&timeout=30`);
    const race = await Promise.race([waiting.then(() => "answered"), http.req("GET", "/v1/queues/peek").then(() => "still waiting")]);
    expect(race).toBe("still waiting");
    await http.req("POST", "/v1/queues/peek/put", { values: [42] });
    expect((await waiting).body.values).toEqual([42]);
    for (const q of ["after=-1", "limit=0", "timeout=61", "timeout=abc", "partition=%20"]) expect((await http.req("GET", `/v1/queues/peek/items?${q}`)).status).toBe(400);
    expect((await http.req("GET", "/v1/queues/nope/items")).status).toBe(404);
  });

  test("namespaces: an App token reaches its App's Dicts only; the admin reaches them with ?app=", async () => {
    const own = new Http(agent.url, appToken(TOKEN, "a1"));
    expect((await own.req("PUT", "/v1/dicts/shared")).body).toEqual({ name: "shared", app: "a1", created: true });
    await own.req("POST", "/v1/dicts/shared/put", { items: [{ key: "k", value: "a1's" }] });
    // The admin's own "shared" is another Dict.
    expect((await http.req("GET", "/v1/dicts/shared")).status).toBe(404);
    expect((await http.req("POST", "/v1/dicts/shared/get?app=a1", { key: "k" })).body).toEqual({ found: true, value: "a1's" });
    const other = new Http(agent.url, appToken(TOKEN, "a2"));
    expect((await other.req("GET", "/v1/dicts/shared")).status).toBe(404);
    const r = await other.req("GET", "/v1/dicts/shared?app=a1");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("WP_ERR_TOKEN_SCOPE");
  });

  test("durable: Dicts and Queues survive a restart of the agent", async () => {
    await http.req("PUT", "/v1/dicts/keep");
    await http.req("POST", "/v1/dicts/keep/put", { items: [{ key: 1, value: "one" }] });
    await http.req("PUT", "/v1/queues/keepq");
    await http.req("POST", "/v1/queues/keepq/put", { values: [1, 2] });
    await agent.close();
    agent = new Agent({ stateDir, port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES, clock });
    await agent.run();
    http = new Http(agent.url, TOKEN);
    expect((await http.req("POST", "/v1/dicts/keep/get", { key: 1.0 })).body).toEqual({ found: true, value: "one" });
    expect((await http.req("POST", "/v1/queues/keepq/get", { n: 10 })).body).toEqual({ values: [1, 2] });
  });
});

describe("from Python: the client in a process of its own, and handlers in real workers", () => {
  let agent: Agent;

  beforeAll(async () => {
    agent = new Agent({ stateDir: path.join(tempDir("collpy"), "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES });
    const fns = { record: { handler: "stores:record" }, produce: { handler: "stores:produce" }, consume: { handler: "stores:consume" }, other: { handler: "stores:other_app_dict" } };
    await agent.run([validateApp({ name: "pipe", functions: fns }, "pipe", STORES)]);
  });
  afterAll(() => agent?.close());

  const env = () => ({ WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN });

  test("Dict with Modal's names, blocking and .aio", async () => {
    const code = `
import asyncio, json
from warmpool import Dict
d = Dict.from_name("py", create_if_missing=True)
d["a"] = 1
d.put(("t", 2), [1, 2])
d.update({"b": 2, "c": 3})
out = {"a": d["a"], "tuple": d.get(("t", 2)), "missing": d.get("zz", "dflt"), "in": "b" in d, "len": len(d)}
out["keys"] = sorted(map(str, d.keys()))
out["pop"] = d.pop("c")
try:
    d["c"]
except KeyError:
    out["keyerror"] = True
out["written_again"] = d.put("a", 9, skip_if_exists=True)
async def main():
    await d.put.aio("x", {"y": 1})
    return {"aio_get": await d.get.aio("x"), "aio_len": await d.len.aio(), "aio_items": sorted(str(k) for k, _ in [kv async for kv in d.items.aio()])}
out.update(asyncio.run(main()))
try:
    Dict.from_name("never").get("k")
except Exception as e:
    out["missing_dict"] = [type(e).__name__, e.code]
print(json.dumps(out))
`;
    expect(await pyJson(code, { env: env() })).toEqual({
      a: 1,
      tuple: [1, 2],
      missing: "dflt",
      in: true,
      len: 4,
      keys: ["('t', 2)", "a", "b", "c"],
      pop: 3,
      keyerror: true,
      written_again: false,
      aio_get: { y: 1 },
      aio_len: 4,
      aio_items: ["('t', 2)", "a", "b", "x"],
      missing_dict: ["NotFoundError", "WP_ERR_DICT_NOT_FOUND"],
    });
  });

  test("Queue with Modal's names: put, put_many, get with timeout, get_many, len, partitions, .aio", async () => {
    const code = `
import asyncio, json, queue, time
from warmpool import Queue
q = Queue.from_name("pyq", create_if_missing=True)
q.put("a"); q.put_many(["b", "c"]); q.put("z", partition="other")
out = {"len": q.len(), "total": q.len(total=True), "other": q.len(partition="other")}
out["get"] = q.get()
out["many"] = q.get_many(5)
out["nonblocking"] = q.get(block=False)
started = time.monotonic()
try:
    q.get(timeout=0.5)
except queue.Empty:
    out["empty_after"] = round(time.monotonic() - started, 1) >= 0.5
async def main():
    await q.put.aio(7, partition="other")
    return {"aio": await q.get_many.aio(10, partition="other")}
out.update(asyncio.run(main()))
print(json.dumps(out))
`;
    expect(await pyJson(code, { env: env() })).toEqual({ len: 3, total: 4, other: 1, get: "a", many: ["b", "c"], nonblocking: null, empty_after: true, aio: ["z", 7] });
  });

  test("Queue.iterate reads in place and waits item_poll_timeout for more; Dict.ephemeral and Queue.ephemeral live for their block, blocking and async", async () => {
    const code = `
import asyncio, json, threading
from warmpool import Dict, Queue
q = Queue.from_name("iter", create_if_missing=True)
q.put_many([1, 2, 3])
out = {"once": list(q.iterate()), "len": q.len()}
seen = []
caught_up = threading.Event()
def late():
    # Put once the iteration has yielded the three values already there.
    caught_up.wait()
    q.put(4)
t = threading.Thread(target=late)
t.start()
for v in q.iterate(item_poll_timeout=20):
    seen.append(v)
    if len(seen) == 3:
        caught_up.set()
    if v == 4:
        break
t.join()
out["waited"] = seen
with Dict.ephemeral({"a": 1}) as d:
    out["ephemeral"] = [d.name.startswith("ephemeral-"), d["a"]]
    name = d.name
try:
    Dict.from_name(name).get("a")
except Exception as e:
    out["after"] = e.code
async def main():
    async with Queue.ephemeral() as eq:
        await eq.put.aio("v")
        values = [v async for v in eq.iterate.aio()]
        return {"aio": values, "aio_len": await eq.len.aio()}
out.update(asyncio.run(main()))
print(json.dumps(out))
`;
    expect(await pyJson(code, { env: env() })).toEqual({ once: [1, 2, 3], len: 3, waited: [1, 2, 3, 4], ephemeral: [true, 1], after: "WP_ERR_DICT_NOT_FOUND", aio: ["v"], aio_len: 1 });
  });

  test("workers use their App's Dicts and Queues, which the admin reads with app=", async () => {
    const http = new Http(agent.url, TOKEN);
    expect((await http.call("pipe", "record", ["k", { v: 1 }])).body).toMatchObject({ status: "succeeded", result: { len: 1, value: { v: 1 } } });
    expect((await http.call("pipe", "produce", [[1, 2, 3]])).body).toMatchObject({ status: "succeeded", result: 3 });
    expect((await http.call("pipe", "consume", [2])).body).toMatchObject({ status: "succeeded", result: [1, 2] });
    expect((await http.call("pipe", "other", [])).body.result).toBe("WP_ERR_TOKEN_SCOPE");
    const code = `
import json
from warmpool import Dict, Queue
print(json.dumps({"dict": Dict.from_name("shared", app="pipe")["k"], "queue": Queue.from_name("work", app="pipe").get_many(10, partition="p1", block=False)}))
`;
    expect(await pyJson(code, { env: env() })).toEqual({ dict: { v: 1 }, queue: [3] });
  });
});
