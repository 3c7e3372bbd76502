/**
 * Web-server endpoints: the function's container serves HTTP itself (PROTOCOL.md, "Web-server
 * endpoints") and the gateway proxies to it — requests and responses streamed both ways through
 * undici (so chunked responses and server-sent events reach the client as they are written), and
 * WebSocket upgrades tunnelled: the handshake goes through node:http's client, then the two sockets
 * are piped.
 *
 * A proxied request counts as an input in flight on the function and on its container while it lasts
 * (the autoscaler then starts a container from zero for it, and never scales down a container with an
 * open stream or WebSocket). While no container is ready the request is held, at most
 * `maxPendingRequests` per endpoint (`503` beyond), until one is ready or the function's startup
 * timeout passes (`503`).
 *
 * Locally every container gets its own port (`WARMPOOL_WEB_PORT=0`: the worker picks a free one and
 * names it in `/ready`); the endpoint's declared `port` is the one a container listens on in a pod.
 */
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { EndpointSpec } from "@warmpool/schema";
import { request as undiciRequest } from "undici";
import type { Agent } from "../agent";
import type { FunctionConfig } from "../config/function";
import type { Container } from "../dispatcher/container";
import type { FunctionRuntime } from "../dispatcher/function";
import { webError } from "./function";

/** Bodies up to this size with a Content-Length are buffered instead of streamed (one write each way). */
const SMALL_BODY = 64 * 1024;

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"]);
const webPorts = new WeakMap<Container, number>();
const held = new Map<string, number>();

/** Deploy: a function behind a webServer endpoint is started with `WARMPOOL_WEB_PORT` (local backend: 0, any free port). */
export function withWebServer(config: FunctionConfig, endpoints: readonly EndpointSpec[]): FunctionConfig {
  const ep = endpoints.find((e) => e.kind === "webServer" && e.function === config.name);
  if (ep !== undefined) config.env = { ...config.env, WARMPOOL_WEB_PORT: "0" };
  return config;
}

class Unavailable extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A ready container (least busy) with its web port, holding the caller while the function starts. */
async function acquire(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime): Promise<{ c: Container; port: number }> {
  const clock = agent.options.clock;
  const key = `${spec.app}/${spec.name}`;
  const pick = (): Container | null => {
    let best: Container | null = null;
    for (const c of fn.containers) if (c.phase === "ready" && (best === null || c.inFlight < best.inFlight)) best = c;
    return best;
  };
  let c = pick();
  if (c === null) {
    const n = held.get(key) ?? 0;
    const max = spec.maxPendingRequests ?? 1000;
    if (n >= max) throw new Unavailable(503, "WP_ERR_ENDPOINT_OVERLOADED", `endpoint ${key} already holds ${n} requests while ${fn.key} starts (maxPendingRequests ${max}); retry later`);
    held.set(key, n + 1);
    fn.inFlight++; // seen by the autoscaler: scale up from zero for this request
    agent.autoscaler.request(fn);
    const deadline = clock.now() + fn.config.startupTimeoutMs;
    try {
      while ((c = pick()) === null) {
        if (clock.now() >= deadline || fn.closed) throw new Unavailable(503, "WP_ERR_COLD_START_TIMEOUT", `no container of ${fn.key} became ready within its startup timeout (${fn.config.startupTimeoutMs / 1000} s)`);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
      }
    } finally {
      fn.inFlight--;
      held.set(key, (held.get(key) ?? 1) - 1);
    }
  }
  let port = webPorts.get(c);
  if (port === undefined) {
    const handle = c.handle as NonNullable<Container["handle"]>;
    const res = await undiciRequest(`http://${handle.host}:${handle.port}/ready`);
    const body = (await res.body.json()) as { webPort?: number };
    if (typeof body.webPort !== "number") throw new Unavailable(502, "WP_ERR_NOT_A_WEB_SERVER", `container ${c.id} of ${fn.key} does not serve a web server (its /ready names no webPort)`);
    port = body.webPort;
    webPorts.set(c, port);
  }
  return { c, port };
}

async function readRaw(stream: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function begin(agent: Agent, fn: FunctionRuntime, c: Container): () => void {
  fn.inFlight++;
  c.inFlight++;
  c.idleSince = null;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    fn.inFlight--;
    c.inFlight--;
    if (c.inFlight === 0) c.idleSince = agent.options.clock.now();
  };
}

function forwardHeaders(agent: Agent, req: http.IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  // The agent's own token stays at the gateway; any other Authorization is the app's business.
  if (req.headers.authorization === `Bearer ${agent.token}`) delete out.authorization;
  if (req.headers.host !== undefined) out["x-forwarded-host"] = req.headers.host;
  out["x-forwarded-proto"] = "http";
  return out;
}

export async function proxyHttp(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime, path: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let target: { c: Container; port: number };
  try {
    target = await acquire(agent, spec, fn);
  } catch (err) {
    if (err instanceof Unavailable) return webError(reply, err.status, err.code, err.message);
    throw err;
  }
  const end = begin(agent, fn, target.c);
  const host = (target.c.handle as NonNullable<Container["handle"]>).host;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  try {
    // A small body of known length is read first and sent in one write; anything else is streamed.
    const length = Number(req.headers["content-length"] ?? NaN);
    const body = !hasBody ? null : length <= SMALL_BODY ? await readRaw(req.raw) : req.raw;
    const res = await undiciRequest(`http://${host}:${target.port}${path}`, {
      method: req.method as "GET",
      headers: forwardHeaders(agent, req.raw),
      body,
    });
    res.body.once("close", end);
    res.body.once("error", end);
    reply.raw.once("close", () => {
      end();
      if (!res.body.destroyed) res.body.destroy();
    });
    reply.code(res.statusCode);
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) reply.header(k, v);
    // Likewise a small answer of known length is sent whole; chunked answers and event streams stream.
    const size = Number(res.headers["content-length"] ?? NaN);
    if (size <= SMALL_BODY) {
      const whole = Buffer.from(await res.body.arrayBuffer());
      end();
      return reply.send(whole);
    }
    return reply.send(res.body);
  } catch (err) {
    end();
    return webError(reply, 502, "WP_ERR_UPSTREAM", `the web server of ${fn.key} failed: ${(err as Error).message}`);
  }
}

/** A WebSocket (or any) upgrade for a webServer endpoint: handshake through node:http, then the sockets are piped. */
export async function proxyUpgrade(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime, path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const fail = (status: number, code: string, message: string): void => {
    const body = JSON.stringify({ error: { code, message } });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
  let target: { c: Container; port: number };
  try {
    target = await acquire(agent, spec, fn);
  } catch (err) {
    if (err instanceof Unavailable) return fail(err.status, err.code, err.message);
    return fail(502, "WP_ERR_UPSTREAM", (err as Error).message);
  }
  const end = begin(agent, fn, target.c);
  const headers = forwardHeaders(agent, req);
  headers.connection = "Upgrade";
  if (req.headers.upgrade !== undefined) headers.upgrade = req.headers.upgrade;
  const upstream = http.request({ host: (target.c.handle as NonNullable<Container["handle"]>).host, port: target.port, path, method: req.method, headers });
  upstream.once("upgrade", (res, upSocket, upHead) => {
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    upSocket.pipe(socket).pipe(upSocket);
    const close = (): void => {
      end();
      upSocket.destroy();
      socket.destroy();
    };
    upSocket.once("close", close);
    socket.once("close", close);
    upSocket.once("error", close);
    socket.once("error", close);
  });
  upstream.once("response", (res) => {
    // The server refused the upgrade: pass its answer on.
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    res.pipe(socket);
    res.once("end", end);
  });
  upstream.once("error", (err) => {
    end();
    fail(502, "WP_ERR_UPSTREAM", `the web server of ${fn.key} failed: ${err.message}`);
  });
  upstream.end();
}
