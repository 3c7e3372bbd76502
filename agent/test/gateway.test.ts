/**
 * The gateway end to end, for both runtimes: call, spawn + get (long-poll), cancel, map (JSON array and
 * NDJSON, ordered and unordered, through the TypeScript client too), and the error matrix — 400, 401,
 * 403, 404, 413, 429 with Retry-After — each with a JSON body naming what was wrong.
 */
import * as diagnostics from "node:diagnostics_channel";
import * as fs from "node:fs";
import { request } from "undici";
import * as path from "node:path";
import { ERRORS } from "../src/errors";
import YAML from "yaml";
import { ApiError, RemoteFunctionError, WarmpoolClient } from "../src/client/client";
import { fixtureVolume, Http, ndjson, startAgent, TOKEN, until, workerStats, type Harness } from "./helpers";

let h: Harness;
let client: WarmpoolClient;

beforeAll(async () => {
  h = await startAgent(
    {
      square: { handler: "handlers:square", concurrency: { maxInputs: 8 }, autoscaler: { maxContainers: 2 } },
      echo: { handler: "handlers:echo" },
      boom: { handler: "handlers:boom" },
      slow: { handler: "handlers:slow", autoscaler: { maxContainers: 1 } },
      double: { handler: "handlers:double", runtime: "node", concurrency: { maxInputs: 16 }, autoscaler: { maxContainers: 2 } },
      jsboom: { handler: "handlers:boom", runtime: "node" },
      jssleep: { handler: "handlers:sleep", runtime: "node", autoscaler: { maxContainers: 1 } },
      gate: { handler: "handlers:gate", autoscaler: { maxContainers: 1 } },
    },
    { maxPendingInputs: 3, payloadLimitMiB: 1 },
  );
  client = new WarmpoolClient({ url: h.url, token: TOKEN });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await h?.close();
});

describe.each([
  ["python", "square", "boom", "ValueError", (x: number) => x * x],
  ["node", "double", "jsboom", "TypeError", (x: number) => x * 2],
] as const)("%s runtime", (_runtime, ok, fails, errorType, expected) => {
  test("call returns the result", async () => {
    const r = await h.http.call("t", ok, [7]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ callId: expect.stringMatching(/^fc-/), status: "succeeded", result: expected(7) });
  });

  test("call returns the remote error with type, message and traceback", async () => {
    const r = await h.http.call("t", fails, [3]);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("failed");
    expect(r.body.error).toMatchObject({ type: errorType, message: expect.stringContaining("bad input 3"), traceback: expect.stringContaining("bad input") });
    await expect(client.fn("t", fails).remote(3)).rejects.toMatchObject({ name: "RemoteFunctionError", type: errorType });
  });

  test("spawn answers 202 and get long-polls the result", async () => {
    const r = await h.http.spawn("t", ok, [9]);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ callId: expect.stringMatching(/^fc-/) });
    const done = await h.http.result(r.body.callId);
    expect(done).toMatchObject({ callId: r.body.callId, status: "succeeded", result: expected(9), attempt: 1 });
    expect(done.attempts).toEqual([expect.objectContaining({ n: 1, outcome: "succeeded" })]);
    // Once final, the result comes from the store.
    await until("result stored", () => h.agent.calls.find(r.body.callId) === undefined);
    expect((await h.http.get(r.body.callId)).body).toMatchObject({ status: "succeeded", result: expected(9) });
    const call = await client.fn("t", ok).spawn(4);
    expect(await call.get()).toBe(expected(4));
  });

  test("map streams results in order, or as they finish", async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => ({ args: [i] }));
    const ordered = await h.http.req("POST", `/v1/apps/t/functions/${ok}/map`, inputs);
    expect(ordered.status).toBe(200);
    expect(ordered.headers["content-type"]).toContain("application/x-ndjson");
    const lines = ndjson(ordered.text);
    expect(lines.slice(0, -1).map((l) => [l.index, l.result])).toEqual(inputs.map((_, i) => [i, expected(i)]));
    expect(lines[lines.length - 1]).toEqual({ done: true, total: 200, succeeded: 200, failed: 0, cancelled: 0 });

    const body = inputs.map((i) => JSON.stringify(i)).join("\n");
    const unordered = await h.http.req("POST", `/v1/apps/t/functions/${ok}/map?ordered=false`, body, { "content-type": "application/x-ndjson" });
    const got = ndjson(unordered.text).slice(0, -1);
    expect(got.map((l) => l.index).sort((a, b) => a - b)).toEqual(inputs.map((_, i) => i));
    for (const l of got) expect(l.result).toBe(expected(l.index));
  });

  test("the client's map is an async iterator over a streamed request", async () => {
    async function* numbers(): AsyncGenerator<number> {
      for (let i = 0; i < 1000; i++) yield i;
    }
    const results: unknown[] = [];
    for await (const r of client.fn("t", ok).map(numbers())) results.push(r);
    expect(results).toEqual(Array.from({ length: 1000 }, (_, i) => expected(i)));
  });

  test("map reports failed inputs in their lines", async () => {
    const lines = [];
    for await (const l of client.fn("t", fails).mapLines([{ args: [1] }, { args: [2] }])) lines.push(l);
    expect(lines.map((l) => [l.index, l.status, l.error?.type])).toEqual([
      [0, "failed", errorType],
      [1, "failed", errorType],
    ]);
  });
});

test("kwargs reach the handler", async () => {
  const r = await h.http.call("t", "echo", [1, "a"], { k: [true] });
  expect(r.body.result).toEqual({ args: [1, "a"], kwargs: { k: [true] } });
});

describe("cancel", () => {
  test("a queued call is cancelled and never runs; a running one is reported cancelled", async () => {
    const running = await h.http.spawn("t", "slow", [1.5, "first"]);
    await until("first call running", async () => (await h.http.get(running.body.callId)).body.status === "running");
    const queued = await h.http.spawn("t", "slow", [0, "second"]);
    expect((await h.http.get(queued.body.callId)).body.status).toBe("pending");

    const del = await h.http.req("DELETE", `/v1/calls/${queued.body.callId}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ callId: queued.body.callId, status: "cancelled", cancelled: true });
    expect((await h.http.result(queued.body.callId)).status).toBe("cancelled");

    const del2 = await h.http.req("DELETE", `/v1/calls/${running.body.callId}`);
    expect(del2.body).toMatchObject({ status: "cancelled", cancelled: true });
    const again = await h.http.req("DELETE", `/v1/calls/${running.body.callId}`);
    expect(again.body).toMatchObject({ status: "cancelled", cancelled: false });

    // The container ran only the first input.
    const port = h.agent.registry.lookup("t", "slow").pool.containers[0]!.handle!.port;
    await until("first input finished in the worker", async () => (await workerStats(port)).inFlight === 0);
    expect((await workerStats(port)).invocations).toBe(1);
    const stored = await h.agent.store.get(queued.body.callId);
    expect(stored?.state).toBe("cancelled");
  });

  test("the node runtime cancels too", async () => {
    const call = await client.fn("t", "jssleep").spawn(200, "x");
    const waiting = await client.fn("t", "jssleep").spawn(0, "y");
    expect((await waiting.cancel()).cancelled).toBe(true);
    expect(await call.get()).toBe("x");
    await expect(waiting.get()).rejects.toMatchObject({ type: "CallCancelled" });
  });
});

describe("error matrix", () => {
  test("401 without a token, 403 with a wrong one; health probes need none", async () => {
    const anon = new Http(h.url, null);
    const r401 = await anon.call("t", "square", [1]);
    expect(r401.status).toBe(401);
    expect(r401.body.error).toMatchObject({ code: "WP_ERR_UNAUTHORIZED", message: expect.stringContaining("Bearer") });
    const r403 = await new Http(h.url, "wrong").call("t", "square", [1]);
    expect(r403.status).toBe(403);
    expect(r403.body.error.code).toBe("WP_ERR_FORBIDDEN");
    expect((await anon.req("GET", "/v1/apps")).status).toBe(401);
    expect((await anon.req("GET", "/healthz")).status).toBe(200);
    expect((await anon.req("GET", "/readyz")).body).toEqual({ ready: true });
  });

  test("400 for malformed bodies, naming the problem", async () => {
    const bad = await h.http.req("POST", "/v1/apps/t/functions/square/call", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("WP_ERR_BAD_REQUEST");
    const args = await h.http.req("POST", "/v1/apps/t/functions/square/call", { args: 5 });
    expect(args.status).toBe(400);
    expect(args.body.error.message).toContain("body.args must be a JSON array");
    const field = await h.http.req("POST", "/v1/apps/t/functions/square/spawn", { args: [], timeout: 3 });
    expect(field.body.error.message).toContain('unknown field "timeout"');
    const wait = await h.http.req("GET", "/v1/calls/fc-x?wait=abc");
    expect(wait.status).toBe(400);
    const map = await h.http.req("POST", "/v1/apps/t/functions/square/map", { args: [1] });
    expect(map.status).toBe(400);
    expect(map.body.error.message).toContain("JSON array");
  });

  test("404 for an unknown app, function, call or route", async () => {
    const app = await h.http.call("nope", "square", [1]);
    expect(app.status).toBe(404);
    expect(app.body.error).toEqual({ code: "WP_ERR_APP_NOT_FOUND", message: 'app "nope" is not deployed' });
    const fn = await h.http.call("t", "nope", [1]);
    expect(fn.status).toBe(404);
    expect(fn.body.error).toMatchObject({ code: "WP_ERR_FUNCTION_NOT_FOUND", message: 'app "t" has no function "nope"', functions: expect.arrayContaining(["square"]) });
    expect((await h.http.get("fc-missing")).body.error.code).toBe("WP_ERR_CALL_NOT_FOUND");
    expect((await h.http.req("DELETE", "/v1/calls/fc-missing")).status).toBe(404);
    expect((await h.http.req("GET", "/v2/else")).body.error.code).toBe("WP_ERR_ROUTE_NOT_FOUND");
  });

  test("413 over the payload limit", async () => {
    const big = "x".repeat(1024 * 1024 + 10);
    const r = await h.http.call("t", "square", [big]);
    expect(r.status).toBe(413);
    expect(r.body.error).toEqual({ code: "WP_ERR_PAYLOAD_TOO_LARGE", message: "request body is larger than the payload limit of 1048576 bytes" });
  });

  test("429 with Retry-After once a function has maxPendingInputs pending", async () => {
    const fn = h.agent.registry.lookup("t", "gate");
    const first = h.http.call("t", "gate", ["g429-first", "a"]);
    await until("first input running", () => fn.load.inFlight === 1);
    const queued = [1, 2, 3].map(() => h.http.call("t", "gate", ["g429-queued", "q"]));
    await until("three inputs queued", () => fn.lane.queued === 3);
    const r = await h.http.call("t", "gate", ["g429-other"]);
    expect(r.status).toBe(429);
    expect(r.headers["retry-after"]).toBe("1");
    expect(r.body.error).toMatchObject({ code: "WP_ERR_TOO_MANY_PENDING", pending: 3, limit: 3 });
    expect(r.body.error.message).toContain('"t/gate" already has 3 pending inputs');
    expect((await h.http.req("POST", "/v1/apps/t/functions/gate/map", [{ args: ["g429-other"] }])).status).toBe(429);
    fs.writeFileSync(path.join(h.dir, "g429-first"), "");
    fs.writeFileSync(path.join(h.dir, "g429-queued"), "");
    expect((await first).body.result).toBe("a");
    for (const q of await Promise.all(queued)) expect(q.body.result).toBe("q");
  });

  test("the client raises ApiError with the code", async () => {
    await expect(client.fn("t", "missing").remote()).rejects.toBeInstanceOf(ApiError);
    await expect(client.fn("t", "missing").remote()).rejects.toMatchObject({ status: 404, code: "WP_ERR_FUNCTION_NOT_FOUND" });
    expect(RemoteFunctionError).toBeDefined();
  });
});

describe("apps and status", () => {
  test("GET /v1/apps and the function status show containers, queue and decisions", async () => {
    expect((await h.http.call("t", "square", [2])).body.result).toBe(4);
    const apps = await h.http.req("GET", "/v1/apps");
    expect(apps.body.apps[0].name).toBe("t");
    const s = await h.http.status("t", "square");
    expect(s.spec).toMatchObject({ app: "t", name: "square", handler: "handlers:square" });
    expect(s.status).toMatchObject({ queueDepth: 0, inFlight: 0 });
    expect([1, 2]).toContain(s.status.readyReplicas);
    // The last decision: the first start, or a load-following stop of a surplus container since.
    expect(s.status.lastScaleReason).toMatch(/^scale (up|down)/);
    expect(s.status.estimates).toMatchObject({ arrivalsPerSec: expect.any(Number) });
    expect(s.status.breaker).toMatch(/^closed/);
    expect(s.containers[0]).toMatchObject({ state: "ready", ref: expect.stringMatching(/^pid \d+/) });
    expect(s.events[0].reason).toMatch(/^scale up 0 → 1/);
  });

  test("PUT /v1/apps validates with the provider's wording and deploys", async () => {
    const bad = await h.http.req("PUT", "/v1/apps/other", { functions: { hello: { handler: "handlers:square", autoscaler: { minContainers: -1 } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("WP_ERR_INVALID_SPEC");
    expect(bad.body.error.message).toContain('app "other" has 1 invalid field:');
    expect(bad.body.error.problems[0].path).toBe("functions.hello.autoscaler.minContainers");
    const ok = await h.http.req("PUT", `/v1/apps/other?dir=${encodeURIComponent(h.agent.registry.app("t")!.loaded.appDir)}`, { functions: { hello: { handler: "handlers:square" } } });
    expect(ok.status).toBe(200);
    expect((await h.http.call("other", "hello", [5])).body.result).toBe(25);
    expect((await h.agent.store.apps()).map((a) => a.name)).toContain("other");
  });

  test("a redeploy moves the waiting inputs to the function's new version; removed functions fail theirs", async () => {
    const dir = encodeURIComponent(h.agent.registry.app("t")!.loaded.appDir);
    // App "re" has its own volumes: the gates go in its fixture volume.
    const fx = fixtureVolume(h.agent.options.stateDir, "re");
    const env = fx.spec;
    const v1 = { functions: { f: { handler: "handlers:gate", ...env, autoscaler: { maxContainers: 1 } }, gone: { handler: "handlers:gate", ...env, autoscaler: { maxContainers: 0 + 1 } } } };
    expect((await h.http.req("PUT", `/v1/apps/re?dir=${dir}`, v1)).status).toBe(200);
    const oldFn = h.agent.registry.lookup("re", "f");
    const running = h.http.call("re", "f", ["re-1", "one"]);
    await until("first input running", () => oldFn.load.inFlight === 1);
    const queued = await h.http.spawn("re", "f", ["re-2", "two"]);
    const goneRunning = h.http.call("re", "gone", ["re-gone", "g"]);
    await until("gone running", () => h.agent.registry.lookup("re", "gone").load.inFlight === 1);
    const goneQueued = h.http.call("re", "gone", ["re-gone", "never"]);
    await until("gone queued", () => h.agent.registry.lookup("re", "gone").lane.queued === 1);

    const v2 = { functions: { f: { handler: "handlers:gate", ...env, concurrency: { maxInputs: 2 }, autoscaler: { maxContainers: 1 } } } };
    expect((await h.http.req("PUT", `/v1/apps/re?dir=${dir}`, v2)).body).toEqual({ app: "re", functions: ["f"] });
    const newFn = h.agent.registry.lookup("re", "f");
    expect(newFn).not.toBe(oldFn);
    expect((await goneQueued).body.error).toMatchObject({ type: "FunctionRemoved" });
    await until("moved input running on the new version", () => newFn.load.inFlight === 1);
    for (const name of ["re-1", "re-2", "re-gone"]) fs.writeFileSync(path.join(fx.dir, name), "");
    expect((await running).body.result).toBe("one"); // the old container drained, not killed
    expect((await goneRunning).body.result).toBe("g");
    expect((await h.http.result(queued.body.callId)).result).toBe("two");
    expect((await h.http.status("re", "f")).spec.concurrency.maxInputs).toBe(2);
  });

  test("a caller that disconnects cancels its call (seen on the diagnostics channel)", async () => {
    const events: Array<{ fn: string; state: string }> = [];
    const listener = (m: unknown): void => void events.push(m as { fn: string; state: string });
    diagnostics.subscribe("warmpool:input", listener);
    try {
      const fn = h.agent.registry.lookup("t", "gate");
      const abort = new AbortController();
      const pending = request(`${h.url}/v1/apps/t/functions/gate/call`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ args: ["never-released"] }),
        signal: abort.signal,
      }).catch((err: Error) => err);
      await until("input running", () => fn.load.inFlight === 1);
      abort.abort();
      expect(await pending).toMatchObject({ name: "AbortError" });
      await until("cancelled", () => events.some((e) => e.fn === "t/gate" && e.state === "cancelled"));
    } finally {
      diagnostics.unsubscribe("warmpool:input", listener);
    }
  });

  test("logs of a function's containers", async () => {
    const r = await h.http.req("GET", "/v1/apps/t/functions/square/logs?tail=5");
    expect(r.body.containers[0].lines.join("\n")).toContain("[warmpool] ready");
  });

  test("openapi.yaml describes every route the gateway serves", () => {
    const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "openapi.yaml"), "utf8")) as { paths: Record<string, Record<string, unknown>> };
    const documented: string[] = [];
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const method of ["get", "post", "put", "delete"]) if (item[method] !== undefined) documented.push(`${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`);
    }
    for (const route of documented) {
      const [method, url] = route.split(" ") as [string, string];
      expect([route, h.agent.gateway!.hasRoute({ method: method as "GET", url: url.replace(":callId", ":id") })]).toEqual([route, true]);
    }
    expect(documented).toHaveLength(31); // every app.get/post/put/delete of src/gateway
  });

  test("openapi.yaml's error codes are the catalogue's", () => {
    const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "openapi.yaml"), "utf8")) as {
      components: { schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } } };
    };
    expect([...doc.components.schemas.Error.properties.error.properties.code.enum].sort()).toEqual(Object.keys(ERRORS).sort());
  });

  test("/metrics in Prometheus format", async () => {
    const r = await h.http.req("GET", "/metrics");
    expect(r.text).toContain('warmpool_inputs_total{app="t",function="square",outcome="succeeded"}');
    expect(r.text).toContain("warmpool_queue_depth");
  });
});
