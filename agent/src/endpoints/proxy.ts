/**
 * Web-server endpoints: the function's container serves HTTP itself (PROTOCOL.md, "Web-server
 * endpoints") and the gateway proxies to it — requests and responses streamed both ways through
 * upstream.ts (so chunked responses and server-sent events reach the client as they are written), and
 * WebSocket upgrades tunnelled: the handshake goes through node:http's client, then the two sockets
 * are piped. Most requests never reach this module's `proxyHttp`: connection.ts serves them straight
 * from the gateway's sockets; `proxyHttp` serves those that arrive on a connection node:http already
 * owns (one that began with an API request).
 *
 * A proxied request counts as an input in flight on the function and on its container while it lasts
 * (the autoscaler then starts a container from zero for it, and never scales down a container with an
 * open stream or WebSocket). While no container is ready the request is held, at most
 * `maxPendingRequests` per endpoint (`503` beyond), until one is ready or the function's startup
 * timeout passes (`503`).
 *
 * Locally every container gets its own port (`WARMPOOL_WEB_PORT=0`: the worker picks a free one and
 * names it in `/ready`); in a pod it listens on its Function's `webPort` (rendered by the provider).
 * Either way the port is learnt from `/ready`.
 */
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { WORKER_ENV, type EndpointSpec } from "@warmpool/schema";
import { request as undiciRequest } from "undici";
import type { Agent } from "../agent";
import type { FunctionConfig } from "../config/function";
import type { Container } from "../dispatcher/container";
import type { FunctionRuntime } from "../dispatcher/function";
import { PEER_HEADER } from "../dataplane/haproxy-config";
import { webError } from "./function";
import { HOP_BY_HOP, type RequestBody, type ResponseSink } from "./upstream";

const webPorts = new WeakMap<Container, number>();
const held = new Map<string, number>();

/** Deploy: a function behind a webServer endpoint is started with `WARMPOOL_WEB_PORT` (local backend: 0, any free port). */
export function withWebServer(config: FunctionConfig, endpoints: readonly EndpointSpec[]): FunctionConfig {
  const ep = endpoints.find((e) => e.kind === "webServer" && e.function === config.name);
  if (ep !== undefined) config.env = { ...config.env, [WORKER_ENV.webPort]: "0" };
  return config;
}

export class Unavailable extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A container to send a request to, and its web server's address. */
export interface Target {
  c: Container;
  host: string;
  port: number;
}

function leastBusy(fn: FunctionRuntime): Container | null {
  let best: Container | null = null;
  for (const c of fn.containers) if (c.phase === "ready" && (best === null || c.inFlight < best.inFlight)) best = c;
  return best;
}

/** The least busy ready container, when its web port is already known: the no-wait path. */
export function readyTarget(fn: FunctionRuntime): Target | null {
  const c = leastBusy(fn);
  const port = c === null ? undefined : webPorts.get(c);
  return c === null || port === undefined ? null : { c, host: (c.handle as NonNullable<Container["handle"]>).host, port };
}

/** A ready container (least busy) with its web port, holding the caller while the function starts. */
export async function acquire(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime): Promise<Target> {
  const clock = agent.options.clock;
  const key = `${spec.app}/${spec.name}`;
  let c = leastBusy(fn);
  if (c === null) {
    const n = held.get(key) ?? 0;
    const max = spec.maxPendingRequests ?? 1000;
    if (n >= max) throw new Unavailable(503, "WP_ERR_ENDPOINT_OVERLOADED", `endpoint ${key} already holds ${n} requests while ${fn.key} starts (maxPendingRequests ${max}); retry later`);
    held.set(key, n + 1);
    fn.inFlight++; // seen by the autoscaler: scale up from zero for this request
    agent.autoscaler.request(fn);
    const deadline = clock.now() + fn.config.startupTimeoutMs;
    try {
      while ((c = leastBusy(fn)) === null) {
        if (clock.now() >= deadline || fn.closed)
          throw new Unavailable(503, "WP_ERR_COLD_START_TIMEOUT", `no container of ${fn.key} became ready within its startup timeout (${fn.config.startupTimeoutMs / 1000} s)`);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
      }
    } finally {
      fn.inFlight--;
      held.set(key, (held.get(key) ?? 1) - 1);
    }
  }
  const handle = c.handle as NonNullable<Container["handle"]>;
  return { c, host: handle.host, port: await webPortOf(fn, c) };
}

/** The port `c`'s web server listens on, as its worker's `/ready` names it (asked once per container). */
export async function webPortOf(fn: FunctionRuntime, c: Container, timeoutMs = 5000): Promise<number> {
  const known = webPorts.get(c);
  if (known !== undefined) return known;
  const handle = c.handle as NonNullable<Container["handle"]>;
  const res = await undiciRequest(`http://${handle.host}:${handle.port}/ready`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = (await res.body.json()) as { webPort?: number };
  if (!Number.isInteger(body.webPort) || (body.webPort as number) < 1 || (body.webPort as number) > 65535) {
    throw new Unavailable(502, "WP_ERR_NOT_A_WEB_SERVER", `container ${c.id} of ${fn.key} does not serve a web server (its /ready names no valid webPort: ${JSON.stringify(body.webPort ?? null)})`);
  }
  webPorts.set(c, body.webPort as number);
  return body.webPort as number;
}

/** Counts a proxied request as an input in flight on the function and the container; returns its end (idempotent). */
export function begin(fn: FunctionRuntime, c: Container): () => void {
  fn.proxied(c, 1);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    fn.proxied(c, -1);
  };
}

/**
 * The end-to-end headers to send upstream, from a flat raw list: hop-by-hop ones (and any the client's
 * `Connection` names) dropped, the agent's own token kept at the gateway, `X-Forwarded-Host`/`-Proto`
 * set by this hop (a client's own are dropped: they would be taken for ours), and the client's address
 * appended to `X-Forwarded-For` (a load balancer in front keeps its entries).
 */
export function forwardHeaders(agent: Agent, raw: readonly string[], remoteAddress: string | undefined): string[] {
  const out: string[] = [];
  let client = remoteAddress;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let named: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (lower === "connection")
      named = named.concat(
        (raw[i + 1] as string)
          .toLowerCase()
          .split(",")
          .map((t) => t.trim()),
      );
    // The first, as node:http reads it: one Host goes on.
    else if (lower === "host") host ??= raw[i + 1];
    // Behind the HAProxy data plane the peer is HAProxy; it names the client (and overwrites any such header a client sent).
    else if (lower === PEER_HEADER && agent.dataPlane !== null) client = raw[i + 1];
    else if (lower === "x-forwarded-for") forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
  }
  const token = `Bearer ${agent.token}`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === "host" || lower.startsWith("x-forwarded-") || lower === PEER_HEADER || (named.length > 0 && named.includes(lower))) continue;
    // Any other Authorization is the app's business.
    if (lower === "authorization" && raw[i + 1] === token) continue;
    out.push(name, raw[i + 1] as string);
  }
  if (host !== undefined) out.push("host", host, "x-forwarded-host", host);
  out.push("x-forwarded-proto", "http");
  if (client !== undefined) out.push("x-forwarded-for", forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  return out;
}

const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } });

/** An error answer as raw bytes, JSON like the rest of the gateway, closing the connection (the request's body may still be on its way). */
export function errorResponse(status: number, code: string, message: string): string {
  const body = errorBody(code, message);
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

function serverResponseSink(res: http.ServerResponse, fnKey: string, end: () => void): ResponseSink {
  return {
    head(status, reason, headers, length) {
      if (length !== null) headers.push("content-length", String(length));
      res.writeHead(status, reason, headers);
    },
    data: (chunk) => res.write(chunk),
    drain: (resume) => res.once("drain", resume),
    end() {
      end();
      res.end();
    },
    fail(err, started) {
      end();
      if (started) return void res.destroy(err);
      const body = errorBody("WP_ERR_UPSTREAM", `the web server of ${fnKey} failed: ${err.message}`);
      res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    },
  };
}

/** Proxies one request that node:http parsed (fastify's web route). */
export async function proxyHttp(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime, path: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let target: Target;
  try {
    target = readyTarget(fn) ?? (await acquire(agent, spec, fn));
  } catch (err) {
    if (!(err instanceof Unavailable)) throw err;
    return webError(reply, err.status, err.code, err.message);
  }
  reply.hijack();
  const raw = req.raw;
  const end = begin(fn, target.c);
  const te = raw.headers["transfer-encoding"];
  const length = te !== undefined ? null : Number(raw.headers["content-length"] ?? 0);
  const head = { method: raw.method as string, path, headers: forwardHeaders(agent, raw.rawHeaders, raw.socket.remoteAddress), length };
  const body: RequestBody = agent.upstreams.exchange(target.host, target.port, head, serverResponseSink(reply.raw, fn.key, end));
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) {
      body.abort();
      end();
    }
  });
  raw.on("data", (chunk: Buffer) => {
    if (!body.write(chunk)) {
      raw.pause();
      body.drain(() => raw.resume());
    }
  });
  raw.once("end", () => body.end());
  return reply;
}

/** A WebSocket (or any) upgrade for a webServer endpoint: handshake through node:http, then the sockets are piped. */
export async function proxyUpgrade(agent: Agent, spec: EndpointSpec, fn: FunctionRuntime, path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const fail = (status: number, code: string, message: string): void => void socket.end(errorResponse(status, code, message));
  let target: Target;
  try {
    target = readyTarget(fn) ?? (await acquire(agent, spec, fn));
  } catch (err) {
    if (err instanceof Unavailable) return fail(err.status, err.code, err.message);
    return fail(502, "WP_ERR_UPSTREAM", (err as Error).message);
  }
  const end = begin(fn, target.c);
  const headers = forwardHeaders(agent, req.rawHeaders, req.socket.remoteAddress);
  headers.push("connection", "Upgrade");
  if (req.headers.upgrade !== undefined) headers.push("upgrade", req.headers.upgrade);
  const upstream = http.request({ host: target.host, port: target.port, path, method: req.method, headers });
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
