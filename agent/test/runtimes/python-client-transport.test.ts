/**
 * The Python client's transport against a scripted stand-in for the agent (fixtures/python/
 * fake_agent.py), for what a real agent does not do on demand: drop a connection after reading a
 * request, answer 503, close a keep-alive connection just as it is reused. Checked: one idempotency
 * key per logical call, the same on every try of it; retries counted and bounded; a stale
 * connection retried at once without counting.
 */
import fs from "node:fs";
import path from "node:path";
import { PY_COMMON, pyJson } from "./python-client";

const FAKE = fs.readFileSync(path.join(__dirname, "fixtures", "python", "fake_agent.py"), "utf8");
const OK = '("answer", 200, {"callId": "fc-1", "status": "succeeded", "result": 49})';

/** Runs `body` with `fake` (a FakeAgent with `script`) and `fn`, a handle on it with `retries`; prints `out` and the requests. */
function scenario(script: string, body: string, retries = 2, prefix = ""): Promise<any> {
  return pyJson(`${PY_COMMON}${FAKE}
from warmpool.client.transport import Options
fake = FakeAgent([${script}])
client = Client(fake.url + ${JSON.stringify(prefix)}, 'tok', options=Options(retries=${retries}, retry_delay=0.01))
fn = Function.from_name('app', 'f', client=client)
out = {}
${body}
print(json.dumps({'out': out, 'requests': fake.requests}))`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a call whose connection dropped after the agent read it is sent again with the same idempotency key", async () => {
  const { out, requests } = await scenario(`("drop",), ${OK}`, "out['result'] = fn.remote(7)");
  expect(out.result).toBe(49);
  expect(requests.map((r: any) => [r.method, r.path, r.body])).toEqual([
    ["POST", "/v1/apps/app/functions/f/call", '{"args":[7]}'],
    ["POST", "/v1/apps/app/functions/f/call", '{"args":[7]}'],
  ]);
  expect(requests[0].key).toMatch(UUID);
  expect(requests[1].key).toBe(requests[0].key);
  expect(requests[1].connection).not.toBe(requests[0].connection);
});

test("each logical call has a key of its own; reads send none", async () => {
  const { requests } = await scenario(
    `${OK}, ${OK}, ("answer", 202, {"callId": "fc-2"}), ("answer", 200, {"callId": "fc-2", "status": "succeeded", "result": 1})`,
    "fn.remote(1); fn.remote(1); fn.spawn(1).get()",
  );
  const keys = requests.map((r: any) => r.key);
  expect(keys.slice(0, 3).every((k: string) => UUID.test(k))).toBe(true);
  expect(new Set(keys.slice(0, 3)).size).toBe(3);
  expect(requests[3]).toMatchObject({ method: "GET", path: "/v1/calls/fc-2?wait=55.000", key: null });
});

test("a 503 is retried with the same key", async () => {
  const { out, requests } = await scenario(
    `("answer", 503, {"error": {"code": "WP_ERR_SHUTTING_DOWN", "message": "the agent is shutting down"}}), ("answer", 202, {"callId": "fc-3"})`,
    "out['id'] = fn.spawn(2).object_id",
  );
  expect(out.id).toBe("fc-3");
  expect(requests).toHaveLength(2);
  expect(requests[1].key).toBe(requests[0].key);
});

test("a keep-alive connection the agent closed as it was reused is retried at once, without counting as a retry", async () => {
  // retries=0: only the stale-connection rule can save the second call.
  const { out, requests } = await scenario(`${OK}, ("drop",), ${OK}`, "out['first'] = fn.remote(1)\nout['second'] = fn.remote(2)", 0);
  expect(out).toEqual({ first: 49, second: 49 });
  expect(requests.map((r: any) => r.connection)).toEqual([1, 1, 2]);
  expect(requests[2].key).toBe(requests[1].key);
  expect(requests[1].key).not.toBe(requests[0].key);
});

test("retries are bounded: AgentUnavailableError after the last, every try with the one key", async () => {
  const { out, requests } = await scenario(`("drop",), ("drop",)`, "try: fn.remote(1)\nexcept warmpool.AgentUnavailableError as e: out['error'] = str(e)", 1);
  expect(out.error).toMatch(/^cannot reach the agent at http:\/\/127\.0\.0\.1:\d+ \(URL from the url argument\): .*; tried 2 times$/);
  expect(requests).toHaveLength(2);
  expect(requests[1].key).toBe(requests[0].key);
});

test("an agent URL with a path sends every route under it", async () => {
  const { out, requests } = await scenario(
    `${OK}, ("answer", 200, {"callId": "fc-1", "status": "succeeded", "result": 1})`,
    "out['r'] = fn.remote(1)\nout['g'] = FunctionCall.from_id('fc-1', client=client).get()",
    0,
    "/behind/a/proxy/",
  );
  expect(out).toEqual({ r: 49, g: 1 });
  expect(requests.map((r: any) => r.path)).toEqual(["/behind/a/proxy/v1/apps/app/functions/f/call", "/behind/a/proxy/v1/calls/fc-1?wait=55.000"]);
});
