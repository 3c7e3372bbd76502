/**
 * Proxying to web-server endpoints on both data planes (the agent's own undici proxy, and HAProxy in
 * front of it), against a real agent and the standard-library server of the web-server tests: HTTP/1.1
 * framing in every shape a proxy must carry (pipelined requests, HEAD, chunked and sized bodies, an
 * answer given before the request body is read, a close-delimited answer, a body far larger than socket
 * buffers, `Expect: 100-continue`), hop-by-hop headers, API calls on the same connection, and requests
 * a server would read differently from the gateway, which are refused and never reach the app.
 */
import { createHash } from "node:crypto";
import * as net from "node:net";
import * as path from "node:path";
import { Readable } from "node:stream";
import { Client } from "undici";
import { Agent } from "../src/agent";
import { validateApp } from "../src/spec/load";
import { HAPROXY_BAD_REQUEST, RUNTIMES, tempDir, TOKEN, until } from "./helpers";

const FIXTURES = path.resolve(__dirname, "fixtures", "webserver");
describe.each(["agent", "haproxy"] as const)("data plane: %s", (dataPlane) => {
  let agent: Agent;
  /** Connections whose first request is a proxied one… */
  let fast: Client;
  /** …and ones that began with an API request. */
  let viaHttp: Client;
  /** What is in flight on the first container of `app/fn`, by its Load. */
  const inFlightOnFirst = (app: string, name: string): number => {
    const fn = agent.registry.lookup(app, name);
    return fn.load.inFlightOn(fn.pool.containers[0]!);
  };

  beforeAll(async () => {
    const dir = tempDir("connection");
    const doc = {
      name: "cx",
      functions: {
        site: {
          handler: "server:serve",
          env: { FIXTURE_DIR: dir },
          autoscaler: { minContainers: 1, maxContainers: 1 },
        },
      },
      endpoints: {
        site: {
          function: "site",
          kind: "webServer",
          port: 8080,
          path: "/",
          public: true,
          methods: ["GET", "POST", "HEAD"],
        },
      },
      // A function endpoint in the same app: its requests are node:http's.
    };
    agent = new Agent({
      stateDir: path.join(dir, "state"),
      port: 0,
      token: TOKEN,
      logLevel: "silent",
      runtimesDir: RUNTIMES,
      dataPlane,
    });
    await agent.run([validateApp(doc, "connection test app", FIXTURES)]);
    fast = new Client(agent.url, { pipelining: 4 });
    viaHttp = new Client(agent.url, { pipelining: 4 });
    // The container's web server answers once it is up (the first request is held until then).
    expect((await get(fast, "/web/cx/warm")).status).toBe(200);
    expect((await get(viaHttp, "/healthz")).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await fast?.close();
    await viaHttp?.close();
    await agent?.close();
  });

  async function get(
    client: Client,
    p: string,
  ): Promise<{
    status: number;
    headers: Record<string, unknown>;
    text: string;
  }> {
    const res = await client.request({ method: "GET", path: p });
    return {
      status: res.statusCode,
      headers: res.headers,
      text: await res.body.text(),
    };
  }

  /** Writes raw bytes on a fresh connection and reads until `done` says the answer is complete. */
  function raw(bytes: string, done: (text: string) => boolean, steps: Array<{ after: string; send: string }> = []): Promise<string> {
    return new Promise((resolve, reject) => {
      const url = new URL(agent.url);
      const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => socket.write(bytes));
      let text = "";
      const pending = [...steps];
      socket.on("data", (d) => {
        text += d.toString("latin1");
        while (pending.length > 0 && text.includes(pending[0]!.after)) socket.write(pending.shift()!.send);
        if (done(text)) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
  }

  describe.each([
    ["a connection whose first request was proxied", () => fast],
    ["a connection that began with an API call", () => viaHttp],
  ])("%s", (_name, client: () => Client) => {
    test("pipelined requests on one connection are answered in order", async () => {
      const paths = Array.from({ length: 8 }, (_, i) => `/web/cx/p${i}?i=${i}`);
      const answers = await Promise.all(paths.map((p) => get(client(), p)));
      expect(answers.map((a) => JSON.parse(a.text).path)).toEqual(paths.map((p) => p.slice("/web/cx".length)));
    });

    test("bodies arrive whole: by length, and a chunked one chunked or, once wholly arrived, by length", async () => {
      const sized = await client().request({
        method: "POST",
        path: "/web/cx/items",
        body: "sized ✓",
        headers: { "content-type": "text/plain" },
      });
      expect(JSON.parse(await sized.body.text())).toEqual({
        method: "POST",
        path: "/items",
        body: "sized ✓",
        framing: "length",
      });
      const streamed = await client().request({
        method: "POST",
        path: "/web/cx/items",
        body: Readable.from(["part one, ", "part two"]),
      });
      expect(JSON.parse(await streamed.body.text())).toMatchObject({
        method: "POST",
        path: "/items",
        body: "part one, part two",
      });
    });

    test("HEAD gets the head only, and the connection goes on", async () => {
      const head = await client().request({
        method: "HEAD",
        path: "/web/cx/thing",
      });
      expect(head.statusCode).toBe(200);
      expect(head.headers["content-length"]).toBe("1234");
      expect(await head.body.text()).toBe("");
      expect(JSON.parse((await get(client(), "/web/cx/after-head")).text).path).toBe("/after-head");
    });

    test("a close-delimited answer is passed on whole; so is an answer given before the body is read", async () => {
      const closing = await get(client(), "/web/cx/close-delimited");
      expect(closing.status).toBe(200);
      expect(closing.text).toBe("until the end");
      const early = await client().request({
        method: "POST",
        path: "/web/cx/early",
        body: "never read",
      });
      expect(early.statusCode).toBe(413);
      await early.body.text();
      // Neither upset the container's accounting (HAProxy's sessions are counted every 100 ms).
      await until("the container's count back at 0", () => inFlightOnFirst("cx", "site") === 0, 5000);
    });

    test("header values that are not ASCII pass byte for byte; a server that sends more than it announced loses its connection, not the client", async () => {
      const named = await client().request({
        method: "GET",
        path: "/web/cx/utf8-header",
      });
      await named.body.text();
      expect(Buffer.from(String(named.headers["x-name"]), "latin1").toString("utf8")).toBe("café");
      const extra = await get(client(), "/web/cx/extra");
      expect(extra).toMatchObject({ status: 200, text: "ok" });
      expect(JSON.parse((await get(client(), "/web/cx/after-extra")).text).path).toBe("/after-extra");
    });

    test("a kept-alive connection the server drops as it is reused: a GET is sent again, a POST is not (502 from the agent; HAProxy closes the client's connection as the server did)", async () => {
      expect((await get(client(), "/web/cx/drop-next")).status).toBe(200);
      expect(JSON.parse((await get(client(), "/web/cx/after-drop")).text).path).toBe("/after-drop");
      expect((await get(client(), "/web/cx/drop-next")).status).toBe(200);
      const post = client().request({
        method: "POST",
        path: "/web/cx/items",
        body: "not sent twice",
      });
      if (dataPlane === "agent") {
        const answered = await post;
        expect(answered.statusCode).toBe(502);
        expect(JSON.parse(await answered.body.text()).error.code).toBe("WP_ERR_UPSTREAM");
      } else await expect(post).rejects.toThrow("other side closed");
      await until("the container's count back at 0", () => inFlightOnFirst("cx", "site") === 0, 5000);
    });

    test("a body far larger than socket buffers streams through intact", async () => {
      const res = await client().request({
        method: "GET",
        path: "/web/cx/big?mb=16",
      });
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of res.body) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const expected = createHash("sha256");
      const block = Buffer.from(Array.from({ length: 256 * 4096 }, (_, i) => i % 256));
      for (let i = 0; i < 16; i++) expected.update(block);
      expect(size).toBe(16 << 20);
      expect(hash.digest("hex")).toBe(expected.digest("hex"));
    });
  });

  test("two requests in a single write, as a pipelining client sends them, are answered in order", async () => {
    const text = await raw("GET /web/cx/a HTTP/1.1\r\nhost: x\r\n\r\nGET /web/cx/b HTTP/1.1\r\nhost: x\r\n\r\n", (t) => t.split('"path": "/').length === 3);
    expect(text.indexOf('"path": "/a"')).toBeGreaterThan(0);
    expect(text.indexOf('"path": "/b"')).toBeGreaterThan(text.indexOf('"path": "/a"'));
  });

  test("Expect: 100-continue is answered by the gateway before the body is sent", async () => {
    const text = await raw("POST /web/cx/items HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n", (t) => t.includes('"body": "late"'), [
      { after: "HTTP/1.1 100 Continue\r\n\r\n", send: "late" },
    ]);
    expect(text.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ")).toBe(true);
  });

  test("hop-by-hop headers stay at the gateway; X-Forwarded-* are added", async () => {
    const r = await raw(
      "GET /web/cx/headers HTTP/1.1\r\nhost: site.test\r\nconnection: keep-alive, x-hop\r\nx-hop: 1\r\nkeep-alive: timeout=5\r\nx-app: kept\r\nx-forwarded-host: spoofed.test\r\nx-forwarded-for: 10.1.2.3\r\n\r\n",
      (t) => t.includes("}"),
    );
    const seen = JSON.parse(r.slice(r.indexOf("{")));
    expect(seen["x-app"]).toBe("kept");
    // The client's Host reaches the app (as behind HAProxy, or nginx with `proxy_set_header Host $host`).
    expect(seen.host).toBe("site.test");
    expect(seen["x-hop"]).toBeUndefined();
    expect(seen["keep-alive"]).toBeUndefined();
    // This hop's own, not the client's; the client's address is appended to what a balancer in front said.
    expect(seen["x-forwarded-host"]).toBe("site.test");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-for"]).toBe("10.1.2.3, 127.0.0.1");
  });

  test("an API call between proxied requests on one connection, and a malformed request", async () => {
    const one = new Client(agent.url, { pipelining: 1 });
    try {
      const first = await one.request({ method: "GET", path: "/web/cx/one" });
      expect(JSON.parse(await first.body.text()).path).toBe("/one");
      const api = await one.request({
        method: "GET",
        path: "/v1/apps",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(api.statusCode).toBe(200);
      expect(JSON.parse(await api.body.text()).apps.map((a: { name: string }) => a.name)).toContain("cx");
      const unauthorized = await one.request({
        method: "GET",
        path: "/v1/apps",
      });
      expect(unauthorized.statusCode).toBe(401);
      await unauthorized.body.text();
      // Back to the web server on the same (now node:http's) connection.
      const again = await one.request({
        method: "POST",
        path: "/web/cx/items",
        body: "after the API",
      });
      expect(JSON.parse(await again.body.text()).body).toBe("after the API");
    } finally {
      await one.close();
    }
    const bad = await raw("GET /web/cx/x HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n", (t) => t.includes("\r\n\r\n"));
    expect(bad.startsWith("HTTP/1.1 400 ")).toBe(true);
    // A refusal: 405 with Allow, in the gateway's JSON.
    const refused = await raw("DELETE /web/cx/x HTTP/1.1\r\nhost: x\r\n\r\n", (t) => t.includes("}"));
    expect(refused.startsWith("HTTP/1.1 405 ")).toBe(true);
    expect(refused.toLowerCase()).toContain("allow: get, post, head");
  });

  describe("requests a server could read differently from the gateway are refused (400), never proxied", () => {
    const answer = (bytes: string | Buffer): Promise<string> =>
      new Promise((resolve, reject) => {
        const url = new URL(agent.url);
        const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => socket.write(bytes));
        let text = "";
        socket.on("data", (d) => (text += d.toString("latin1")));
        socket.on("error", reject);
        socket.on("close", () => resolve(text));
        socket.setTimeout(5_000, () => socket.destroy());
      });

    test.each([
      ["two Transfer-Encodings", "POST /web/cx/items HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ntransfer-encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
      ["a Content-Length that is not digits", "POST /web/cx/items HTTP/1.1\r\nhost: x\r\ncontent-length: 1e1\r\n\r\n0123456789"],
      ["no Host", "GET /web/cx/x HTTP/1.1\r\n\r\n"],
    ])("%s", async (_name, bytes) => {
      const text = await answer(bytes);
      expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      // HAProxy 2.6 answers what it cannot parse at all with its built-in page, before any rule runs.
      if (dataPlane === "haproxy" && body.startsWith("<html>")) expect(body).toBe(HAPROXY_BAD_REQUEST);
      else expect(JSON.parse(body).error.code).toBe("WP_ERR_BAD_REQUEST");
    });

    test("Content-Length and Transfer-Encoding: refused by the agent; HAProxy drops the length (RFC 9112 §6.3) and closes after the answer", async () => {
      const text = await answer("POST /web/cx/items HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /web/cx/smuggled HTTP/1.1\r\nhost: x\r\n\r\n");
      if (dataPlane === "agent") expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
      else {
        expect(text.startsWith("HTTP/1.1 201 ")).toBe(true);
        expect(JSON.parse(text.slice(text.indexOf("{"))).framing).toBe("chunked");
      }
      expect(text).not.toContain("/smuggled");
    });

    test("bytes with the high bit set never become CR/LF in the request line sent upstream", async () => {
      // 0x89 0x8D 0x8A are TAB CR LF with the high bit set: an ASCII decoder would turn this into two requests.
      const smuggle = Buffer.concat([
        Buffer.from("GET /web/cx/x"),
        Buffer.from([0x89]),
        Buffer.from("HTTP/1.1"),
        Buffer.from([0x8d, 0x8a]),
        Buffer.from("X-I:"),
        Buffer.from([0x89]),
        Buffer.from("1"),
        Buffer.from([0x8d, 0x8a, 0x8d, 0x8a]),
        Buffer.from("GET /admin HTTP/1.1\r\nhost: x\r\n\r\n"),
      ]);
      const text = await answer(smuggle);
      expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
      expect(text).not.toContain("/admin");
    });

    test("an app name that is not valid UTF-8 in percent-encoding is a 400, and the agent stays up", async () => {
      const text = await answer("GET /web/%E0/x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
      expect(text.startsWith("HTTP/1.1 400 ")).toBe(true);
      expect((await get(fast, "/web/cx/still-up")).status).toBe(200);
    });

    test("a chunk size that is not hex ends the connection without an answer from the app", async () => {
      const text = await answer("POST /web/cx/items HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
      expect(text).not.toContain(" 201 ");
      expect(inFlightOnFirst("cx", "site")).toBe(0);
    });
  });
});
