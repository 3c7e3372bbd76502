/**
 * Calls from inside a function (issue 14, item 2), with a real agent and real sandboxed Python workers:
 * - each worker gets the agent's URL and a token scoped to its App (never the admin token), and the
 *   Python client in it finds them without being told: remote, map and spawn, blocking and `.aio`;
 * - an App token calls, spawns, maps and reads the calls of its own App and nothing else;
 * - a call made from inside a call carries its parent's id: the status shows the tree, and cancelling
 *   the parent cancels the children.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { appToken } from "../src/token";
import { fixtureVolume, Http, RUNTIMES, TOKEN, tempDir, until, withFixture } from "./helpers";

jest.setTimeout(90_000);

const NESTED = path.resolve(__dirname, "fixtures", "nested");

let agent: Agent;
let http: Http;
let fixtureDir: string;

beforeAll(async () => {
  const dir = tempDir("nested");
  agent = new Agent({ stateDir: path.join(dir, "state"), port: 0, token: TOKEN, logLevel: "silent", runtimesDir: RUNTIMES });
  const fixture = fixtureVolume(agent.options.stateDir, "nest");
  fixtureDir = fixture.dir;
  const scale = { autoscaler: { maxContainers: 2 }, concurrency: { maxInputs: 4 } };
  const nest = withFixture(
    {
      leaf: { handler: "nested:leaf", ...scale },
      hang: { handler: "nested:hang" },
      fanout: { handler: "nested:fan_out" },
      "fanout-async": { handler: "nested:fan_out_async" },
      parent: { handler: "nested:parent" },
      escalate: { handler: "nested:escalate" },
    },
    fixture,
  );
  await agent.run([validateApp({ name: "nest", functions: nest }, "nest", NESTED), validateApp({ name: "other", functions: { leaf: { handler: "nested:leaf" } } }, "other", NESTED)]);
  http = new Http(agent.url, TOKEN);
});

afterAll(async () => {
  if (fixtureDir !== undefined) fs.writeFileSync(path.join(fixtureDir, "release"), "");
  await agent?.close();
});

test("a handler calls its App's functions with the blocking client: remote, map, spawn; each call is its child", async () => {
  const r = await http.call("nest", "fanout", [3]);
  expect(r.body).toMatchObject({ status: "succeeded", result: { remote: 30, map: [0, 10, 20], spawned: 30 } });
  const { me, spawned_id } = r.body.result;
  expect(me).toBe(r.body.callId);
  const child = await http.get(spawned_id);
  expect(child.body).toMatchObject({ status: "succeeded", parent: r.body.callId });
});

test("the same with .aio on an async handler", async () => {
  const r = await http.call("nest", "fanout-async", [4]);
  expect(r.body).toMatchObject({ status: "succeeded", result: { remote: [0, 10, 20, 30], map: [0, 10, 20, 30], spawned: 40 } });
  expect(r.body.result.me).toBe(r.body.callId);
});

test("status shows the tree, and cancelling the parent cancels its children", async () => {
  const release = path.join(fixtureDir, "release-tree");
  const spawned = await http.spawn("nest", "parent", [release]);
  const parentId = spawned.body.callId as string;
  const children = await until("the parent's child", async () => {
    const s = await http.get(parentId);
    return s.body.children?.length === 1 ? (s.body.children as string[]) : undefined;
  });
  const childId = children[0] as string;
  await until("the child running", async () => (await http.get(childId)).body.status === "running" || undefined);
  expect((await http.get(childId)).body.parent).toBe(parentId);

  const cancel = await http.req("DELETE", `/v1/calls/${parentId}`);
  expect(cancel.body).toMatchObject({ status: "cancelled", cancelled: true });
  expect((await http.get(childId)).body).toMatchObject({ status: "cancelled", error: { type: "CallCancelled" } });
  // Durable: the stored parent keeps its children once it is final.
  const stored = await http.result(parentId);
  expect(stored).toMatchObject({ status: "cancelled", children: [childId] });
  fs.writeFileSync(release, "");
});

test("a call naming a parent that is not running is refused, saying so", async () => {
  const r = await http.req("POST", "/v1/apps/nest/functions/leaf/call", { args: [1] }, { "warmpool-parent-call": "fc-nope" });
  expect(r.status).toBe(409);
  expect(r.body.error).toMatchObject({ code: "WP_ERR_PARENT_NOT_RUNNING", message: expect.stringContaining('"fc-nope"') });
});

describe("App tokens", () => {
  const nestToken = (): Http => new Http(agent.url, appToken(TOKEN, "nest"));

  test("the worker's token is its App's, and it may not reach another App", async () => {
    const other = await http.spawn("other", "leaf", [2]);
    await http.result(other.body.callId);
    const r = await http.call("nest", "escalate", [other.body.callId]);
    expect(r.body.result).toEqual({ token_kind: "wpa_", other_app: "WP_ERR_TOKEN_SCOPE", other_call: "NotFoundError" });
  });

  test("over HTTP: its own App's calls, spawns and results; nothing else", async () => {
    const own = nestToken();
    expect((await own.call("nest", "leaf", [4])).body).toMatchObject({ status: "succeeded", result: 40 });
    const spawned = await own.spawn("nest", "leaf", [5]);
    expect((await own.result(spawned.body.callId)).result).toBe(50);
    expect((await own.req("GET", "/v1/apps/nest")).status).toBe(200);

    const refused = await own.call("other", "leaf", [1]);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("WP_ERR_TOKEN_SCOPE");
    expect(refused.body.error.message).toContain("POST /v1/apps/other/functions/leaf/call");
    for (const [method, p] of [
      ["GET", "/v1/apps"],
      ["GET", "/v1/apps/other"],
      ["PUT", "/v1/apps/nest"],
      ["GET", "/v1/apps/nest/functions/leaf/logs"],
      ["GET", "/metrics"],
    ] as const) {
      expect([method, p, (await own.req(method, p, method === "PUT" ? {} : undefined)).status]).toEqual([method, p, 403]);
    }
    // Another App's call does not exist for it, neither to read nor to cancel.
    const theirs = await http.spawn("other", "leaf", [3]);
    expect((await own.get(theirs.body.callId)).status).toBe(404);
    expect((await own.req("DELETE", `/v1/calls/${theirs.body.callId}`)).status).toBe(404);
  });

  test("a forged App token (another App's name on this App's MAC) is refused", async () => {
    const real = appToken(TOKEN, "nest");
    const forged = real.replace(/_[A-Za-z0-9_-]+$/, `_${Buffer.from("other").toString("base64url")}`);
    const r = await new Http(agent.url, forged).call("other", "leaf", [1]);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("WP_ERR_FORBIDDEN");
    expect((await new Http(agent.url, appToken("another agent's token", "nest")).call("nest", "leaf", [1])).status).toBe(403);
  });
});
