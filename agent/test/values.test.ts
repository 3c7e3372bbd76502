/**
 * Arguments and results beyond JSON (issue 14, item 3), through a real agent and real workers:
 * bytes as `{"$bytes": base64}` in both runtimes and the Python client; `serialization: pickle`
 * between Python callers and Python functions, refused (with a clear error) for a function that takes
 * JSON, for the Node runtime and behind an Endpoint.
 */
import * as path from "node:path";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { appToken } from "../src/token";
import { Http, RUNTIMES, TOKEN, tempDir } from "./helpers";
import { pyJson } from "./runtimes/python-client";

jest.setTimeout(90_000);

const VALUES = path.resolve(__dirname, "fixtures", "values");
const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");

let agent: Agent;
let http: Http;

beforeAll(async () => {
  agent = new Agent({ stateDir: path.join(tempDir("values"), "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES });
  const functions = {
    bytes: { handler: "values:echo_bytes" },
    "node-bytes": { handler: "values:echoBytes", runtime: "node" },
    objects: { handler: "values:objects", serialization: "pickle" },
    "json-objects": { handler: "values:objects" },
    "returns-set": { handler: "values:returns_set" },
  };
  await agent.run([validateApp({ name: "v", functions }, "v", VALUES)]);
  http = new Http(agent.url, TOKEN);
});
afterAll(() => agent?.close());

test("bytes over HTTP: the Python and Node handlers get bytes / a Buffer, and their bytes come back as {$bytes}", async () => {
  const args = [{ $bytes: b64("hi") }, { b: { $bytes: "" } }];
  expect((await http.call("v", "bytes", args)).body.result).toEqual({
    type: "bytes",
    nested: "bytes",
    back: { $bytes: b64("hi!") },
    list: [{ $bytes: b64(Buffer.from([1, 2])) }, { $bytes: b64("z") }],
  });
  expect((await http.call("v", "node-bytes", args)).body.result).toEqual({ isBuffer: true, nested: true, back: { $bytes: b64("hi!") }, typed: { $bytes: b64(Buffer.from([1, 2])) } });
});

test("bytes from the Python client, blocking and .aio, to both runtimes", async () => {
  const code = `
import asyncio, json
from warmpool import Function
py, node = Function.from_name("v", "bytes"), Function.from_name("v", "node-bytes")
a = py.remote(b"hi", {"b": b"\\x00\\xff"})
n = asyncio.run(node.remote.aio(b"hi", {"b": b""}))
print(json.dumps({"py": [a["type"], a["back"].decode(), [type(x).__name__ for x in a["list"]]], "node": [n["isBuffer"], n["back"].decode(), list(n["typed"])]}))
`;
  expect(await pyJson(code, { env: { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN } })).toEqual({ py: ["bytes", "hi!", ["bytes", "bytes"]], node: [true, "hi!", [1, 2]] });
});

test("serialization: pickle: Python objects in and out, between Python caller and Python function", async () => {
  const code = `
import asyncio, json
from fractions import Fraction
from warmpool import Function
f = Function.from_name("v", "objects")
r = f.remote({3, 1, 2}, Fraction(1, 3))
ra = asyncio.run(f.remote.aio({5}, ratio=Fraction(2, 5)))
print(json.dumps({"sorted": r["sorted"], "types": r["types"], "double": str(r["double"]), "set": sorted(r["set"]), "set_type": type(r["set"]).__name__, "aio": str(ra["double"])}))
`;
  expect(await pyJson(code, { env: { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN } })).toEqual({
    sorted: [1, 2, 3],
    types: ["set", "Fraction"],
    double: "2/3",
    set: [1, 2, 3],
    set_type: "frozenset",
    aio: "4/5",
  });
});

test("a pickle for a function that takes JSON is refused by the agent, naming where it is", async () => {
  const r = await http.call("v", "json-objects", [[1], { x: { $pickle: "gASVBAAAAAAAAABLAS4=" } }]);
  expect(r.status).toBe(400);
  expect(r.body.error.message).toBe(
    'malformed request: body.args[1].x is a pickled value ({"$pickle": ...}), but function v/json-objects takes JSON: set serialization: pickle on it (Python runtime only), or pass JSON values and bytes',
  );
  const code = `
import json
from warmpool import Function, ApiError
try:
    Function.from_name("v", "json-objects").remote({1}, 2)
except ApiError as e:
    print(json.dumps([e.status, e.code]))
`;
  expect(await pyJson(code, { env: { WARMPOOL_URL: agent.url, WARMPOOL_TOKEN: TOKEN } })).toEqual([400, "WP_ERR_BAD_REQUEST"]);
  // A result JSON cannot carry, from a function that takes JSON: its own error, as before.
  expect((await http.call("v", "returns-set", [])).body.error).toMatchObject({ type: "SerializationError", message: expect.stringContaining("set serialization: pickle") });
});

test("the spec refuses pickle for the Node runtime and behind an Endpoint", () => {
  expect(() => validateApp({ name: "x", functions: { f: { handler: "m:f", runtime: "node", serialization: "pickle" } } }, "x", VALUES)).toThrow(
    'functions.f.serialization = "pickle": must be "json" for runtime "node": only the Python runtime (and a Python caller) can read pickles',
  );
  expect(() => validateApp({ name: "x", functions: { f: { handler: "m:f", serialization: "pickle" } }, endpoints: { web: { function: "f" } } }, "x", VALUES)).toThrow(
    'endpoints.web.function = "f": names function "f", whose serialization is "pickle": an Endpoint\'s function must use "json"',
  );
});

describe("payloads above the inline limit go through the store", () => {
  let big: Agent;
  let bigHttp: Http;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    // One pending spawn at most: spawn_map's inputs meet 429s, which must leave their stored payloads for the retry.
    big = new Agent({
      stateDir: path.join(tempDir("bigvalues"), "state"),
      port: 0,
      token: TOKEN,
      logLevel: "silent",
      runtimesDir: RUNTIMES,
      payloadLimitMiB: 1,
      largePayloadLimitMiB: 4,
      maxPendingSpawns: 1,
    });
    await big.run([validateApp({ name: "big", functions: { echo: { handler: "values:size_and_back" } } }, "big", VALUES)]);
    bigHttp = new Http(big.url, TOKEN);
  });
  afterAll(() => big?.close());

  test("the Python client stores arguments over its inline limit first: remote, spawn and .aio, with large results back", async () => {
    const code = `
import asyncio, json
from warmpool import Client, Function
from warmpool.client.transport import Options
client = Client(options=Options(inline_limit=512 * 1024))
f = Function.from_name("big", "echo", client=client)
data = bytes(range(256)) * 12000      # 3,072,000 bytes: 4 MB of base64, over the agent's 1 MiB limit
r = f.remote(data)
s = f.spawn(data).get()
a = asyncio.run(f.remote.aio(data[:1000000]))
print(json.dumps([r["size"], r["back"] == data, s["size"], a["size"], a["back"] == data[:1000000]]))
`;
    expect(await pyJson(code, { env: { WARMPOOL_URL: big.url, WARMPOOL_TOKEN: TOKEN } })).toEqual([3_072_000, true, 3_072_000, 1_000_000, true]);
  });

  test("map, starmap and spawn_map store each input over the inline limit first too; a 429 leaves a stored payload for the retry", async () => {
    const code = `
import asyncio, json
from warmpool import Client, Function
from warmpool.client.transport import Options
client = Client(options=Options(inline_limit=512 * 1024))
f = Function.from_name("big", "echo", client=client)
items = [bytes([i]) * 900000 for i in range(3)]   # 1.2 MB of base64 each: over the agent's 1 MiB request limit
mapped = [(r["size"], r["back"] == items[i]) for i, r in enumerate(f.map(items))]
starred = [r["size"] for r in f.starmap([(b"x" * 900000,)])]
f.spawn_map(items)
async def aio():
    return [r["size"] async for r in f.map.aio(items[:2])]
print(json.dumps([mapped, starred, asyncio.run(aio())]))
`;
    expect(await pyJson(code, { env: { WARMPOOL_URL: big.url, WARMPOOL_TOKEN: TOKEN } })).toEqual([
      [
        [900_000, true],
        [900_000, true],
        [900_000, true],
      ],
      [900_000],
      [900_000, 900_000],
    ]);
  });

  test("over HTTP: inline over the limit is 413; a stored payload runs once, in its own namespace, within its own limit", async () => {
    const args = [{ $bytes: Buffer.alloc(MiB).toString("base64") }];
    expect((await bigHttp.call("big", "echo", args)).status).toBe(413);
    const stored = await bigHttp.req("POST", "/v1/payloads", { args });
    expect(stored.status).toBe(200);
    const id = stored.body.payloadId as string;
    // Another App's token cannot use it.
    const other = await new Http(big.url, appToken(TOKEN, "big")).req("POST", "/v1/apps/big/functions/echo/call", { payload: id });
    expect(other.body.error).toMatchObject({ code: "WP_ERR_PAYLOAD_NOT_FOUND" });
    const r = await bigHttp.req("POST", "/v1/apps/big/functions/echo/call", { payload: id });
    expect(r.body).toMatchObject({ status: "succeeded", result: { size: MiB } });
    const again = await bigHttp.req("POST", "/v1/apps/big/functions/echo/call", { payload: id });
    expect(again.status).toBe(404);
    expect(again.body.error.message).toContain("it was used already");
    const mixed = await bigHttp.req("POST", "/v1/apps/big/functions/echo/call", { payload: id, args: [] });
    expect(mixed.body.error.message).toContain("body.payload");
    const tooBig = await bigHttp.req("POST", "/v1/payloads", { args: ["x".repeat(5 * MiB)] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.message).toBe(`request body is larger than the payload limit of ${4 * MiB} bytes`);
  });
});
