/**
 * The TypeScript client sends an idempotency key per logical call and the same key on each of its own
 * retries (a broken connection, a 503), so an agent that honours keys runs the call once. Against a
 * plain HTTP server that breaks the first connection, answers 503 to the second and 200 to the third.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { WarmpoolClient } from "../src/client/client";

let server: http.Server;
let url: string;
const seen: Array<{ path: string; key: string | undefined; body: string }> = [];
/** What the server does with each request, in order. */
let script: Array<"break" | 503 | 200> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", key: req.headers["idempotency-key"] as string | undefined, body });
      const step = script.shift() ?? 200;
      if (step === "break") return req.socket.destroy();
      res.writeHead(step, { "content-type": "application/json" });
      res.end(
        step === 503 ? '{"error":{"code":"WP_ERR_FUNCTION_FAILING","message":"failing"}}' : req.url?.endsWith("/spawn") ? '{"callId":"fc-1"}' : '{"callId":"fc-1","status":"succeeded","result":49}',
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

test("one key per logical call, the same on each retry; a new call, a new key", async () => {
  const client = new WarmpoolClient({ url, token: "t", retryDelayMs: 1 });
  const square = client.fn("a", "square");
  seen.length = 0;
  script = ["break", 503, 200];
  expect(await square.remote(7)).toBe(49);
  expect(seen).toHaveLength(3);
  const key = seen[0]!.key as string;
  expect(key).toMatch(/^[0-9a-f-]{36}$/);
  expect(seen.map((s) => s.key)).toEqual([key, key, key]);
  // The key travels in the header only: the body is the invocation.
  expect(JSON.parse(seen[0]!.body)).toEqual({ args: [7] });

  script = [503, 200];
  expect((await square.spawn(8)).id).toBe("fc-1");
  expect(seen[3]!.key).toBe(seen[4]!.key);
  expect(seen[3]!.key).not.toBe(key);
  // A caller's own key is used as given.
  script = [];
  await square.invokeResult({ args: [1], idempotencyKey: "order-17" });
  expect(seen.at(-1)!.key).toBe("order-17");
  await client.close();
});

test("retries are bounded: after `retries` more tries the last failure is thrown", async () => {
  const client = new WarmpoolClient({ url, token: "t", retries: 2, retryDelayMs: 1 });
  seen.length = 0;
  script = [503, 503, 503, 200];
  await expect(client.fn("a", "square").remote(7)).rejects.toMatchObject({ status: 503, code: "WP_ERR_FUNCTION_FAILING" });
  expect(seen).toHaveLength(3);
  expect(new Set(seen.map((s) => s.key)).size).toBe(1);
  script = [];
  await client.close();
});
