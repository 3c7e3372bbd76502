/**
 * Who may call a worker (PROTOCOL.md): a worker the agent started takes `/invoke` and `/shutdown` only
 * with its App's token, so code of another App — which can reach its port on the shared loopback
 * (README, "Not guaranteed") — cannot run this App's handler with inputs of its choosing or stop it.
 * `/ready` (the health probe) and `/stats` (counters) stay open. The agent's own calls carry the token.
 * Both runtimes, real agent, real workers.
 */
import { request } from "undici";
import { appToken } from "../src/token";
import { startAgent, TOKEN, until, type Harness } from "./helpers";

const BODY = JSON.stringify({ inputs: [{ id: "x", args: [7], kwargs: {} }] });

describe.each([
  ["python", "handlers:square", (x: number) => x * x],
  ["node", "handlers:double", (x: number) => x * 2],
] as const)("a %s worker", (runtime, handler, f) => {
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    h = await startAgent({ square: { handler, runtime, autoscaler: { minContainers: 1, maxContainers: 1 } } }, { app: "mine", sandbox: "none" });
    const fn = h.agent.registry.lookup("mine", "square");
    port = await until("its container is ready", () => fn.status().readyReplicas === 1 && fn.pool.containers[0]?.handle?.port);
  });
  afterAll(() => h.close());

  const post = async (path: string, authorization?: string): Promise<{ status: number; body: any }> => {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
      body: BODY,
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === "" ? null : JSON.parse(text) };
  };

  test("refuses /invoke and /shutdown without its App's token, or with another App's or the wrong one", async () => {
    for (const auth of [undefined, `Bearer ${appToken(TOKEN, "theirs")}`, "Bearer nope", `Basic ${appToken(TOKEN, "mine")}`]) {
      expect(await post("/invoke", auth)).toEqual({ status: 401, body: { error: { type: "Unauthorized", message: expect.stringContaining("App's token") } } });
      expect((await post("/shutdown", auth)).status).toBe(401);
    }
    // Still serving: nothing above stopped it or ran the handler.
    expect((await h.http.call("mine", "square", [6])).body.result).toBe(f(6));
  });

  test("runs an input for its own App's token, as it does for the agent", async () => {
    const res = await post("/invoke", `Bearer ${appToken(TOKEN, "mine")}`);
    expect(res.status).toBe(200);
    expect(res.body.outputs[0]).toEqual({ id: "x", ok: true, value: f(7) });
  });

  test("/ready and /stats need no token", async () => {
    for (const path of ["/ready", "/stats"]) expect((await request(`http://127.0.0.1:${port}${path}`)).statusCode).toBe(200);
  });
});
