/**
 * The pool of kept-alive connections to web servers (src/endpoints/upstream.ts `Upstreams`), against a
 * real node:http server that records its connections: how many idle connections are kept, when an
 * idle one is closed, and that an exchange in progress is never closed for being slow.
 */
import * as http from "node:http";
import type * as net from "node:net";
import { EventEmitter, once } from "node:events";
import { Upstreams, type ResponseSink } from "../src/endpoints/upstream";

let server: http.Server;
let port: number;
/** Server-side sockets, and a promise per socket of its close. */
const sockets: Array<{ socket: net.Socket; closed: Promise<unknown> }> = [];
/** Requests the server holds until the test answers them. */
const held: Array<() => void> = [];
const holding = new EventEmitter();

async function heldCount(n: number): Promise<void> {
  while (held.length < n) await once(holding, "held");
}

beforeAll(async () => {
  // The server's own keep-alive timeout is far longer than any in these tests: a close seen here is the pool's.
  server = http.createServer({ keepAliveTimeout: 600_000 }, (req, res) => {
    const answer = (): void => void res.end(JSON.stringify({ path: req.url }));
    req.resume();
    req.on("end", () => {
      if (req.url !== "/hold") return answer();
      held.push(answer);
      holding.emit("held");
    });
  });
  server.on("connection", (socket: net.Socket) => sockets.push({ socket, closed: once(socket, "close") }));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, "close");
});

afterEach(() => {
  held.splice(0);
  for (const { socket } of sockets.splice(0)) socket.destroy();
});

/** One GET through `pool`; resolves with the status and body once the response is over. */
function get(pool: Upstreams, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    const sink: ResponseSink = {
      head: (s) => void (status = s),
      data: (chunk) => chunks.push(chunk) > 0,
      drain: (resume) => resume(),
      end: () => resolve({ status, body: Buffer.concat(chunks).toString() }),
      fail: (err) => reject(err),
    };
    pool.exchange("127.0.0.1", port, { method: "GET", path, headers: [], length: 0 }, sink).end();
  });
}

test("at most maxIdlePerServer connections stay open once a burst is over; the rest are closed", async () => {
  const pool = new Upstreams({ maxIdlePerServer: 4, idleTimeoutMs: 600_000 });
  const burst = Array.from({ length: 10 }, () => get(pool, "/hold"));
  // All ten are in flight at once, each on its own connection.
  await heldCount(10);
  expect(sockets).toHaveLength(10);
  for (const answer of held.splice(0)) answer();
  for (const r of await Promise.all(burst)) expect(r).toEqual({ status: 200, body: JSON.stringify({ path: "/hold" }) });
  await Promise.all(sockets.slice(4).map((s) => s.closed));
  expect(pool.idleCount("127.0.0.1", port)).toBe(4);
  expect(sockets.filter((s) => !s.socket.destroyed)).toHaveLength(4);
  // The next request reuses a kept connection: no new one is opened.
  expect((await get(pool, "/again")).status).toBe(200);
  expect(sockets).toHaveLength(10);
  pool.close();
});

test("an idle connection is closed after idleTimeoutMs, and the next request opens a new one", async () => {
  const pool = new Upstreams({ maxIdlePerServer: 4, idleTimeoutMs: 50 });
  expect((await get(pool, "/one")).status).toBe(200);
  expect(sockets).toHaveLength(1);
  await sockets[0]!.closed;
  expect(pool.idleCount("127.0.0.1", port)).toBe(0);
  expect((await get(pool, "/two")).status).toBe(200);
  expect(sockets).toHaveLength(2);
  pool.close();
});

test("an exchange whose answer takes longer than idleTimeoutMs is not cut off, and its connection is kept", async () => {
  const pool = new Upstreams({ maxIdlePerServer: 4, idleTimeoutMs: 50 });
  // Settled into a value at once: a failure must fail the assertion below, not crash the run as an unhandled rejection.
  const slow = get(pool, "/hold").catch((err: Error) => err);
  await heldCount(1);
  // Four idle timeouts pass while the answer is outstanding (or the connection is closed, which fails the test).
  const socket = sockets[0]!.socket;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 200);
    void sockets[0]!.closed.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
  expect(socket.destroyed).toBe(false);
  held.shift()!();
  expect(await slow).toEqual({ status: 200, body: JSON.stringify({ path: "/hold" }) });
  expect(pool.idleCount("127.0.0.1", port)).toBe(1);
  pool.close();
  await sockets[0]!.closed;
});

test("close() closes idle connections, and one released after it is closed rather than kept", async () => {
  const pool = new Upstreams({ maxIdlePerServer: 4, idleTimeoutMs: 600_000 });
  const first = get(pool, "/hold");
  const late = get(pool, "/hold");
  await heldCount(2);
  held.shift()!();
  expect((await first).status).toBe(200);
  expect(pool.idleCount("127.0.0.1", port)).toBe(1);
  pool.close();
  expect(pool.idleCount("127.0.0.1", port)).toBe(0);
  held.shift()!();
  expect((await late).status).toBe(200);
  await Promise.all(sockets.map((s) => s.closed));
  expect(pool.idleCount("127.0.0.1", port)).toBe(0);
});
