/**
 * Web-server endpoints on the agent's own data plane: the function's container serves HTTP itself
 * (PROTOCOL.md, "Web-server endpoints") and the gateway proxies to it with undici — request and
 * response bodies streamed both ways (chunked answers and server-sent events reach the client as they
 * are written) — and tunnels WebSocket upgrades (the handshake through node:http's client, then the two
 * sockets piped). This is the data plane of `warmpool dev`/`serve` and of a bare `warmpool agent`; in
 * clusters HAProxy serves these requests (dataplane/haproxy.ts) and this proxy only sees those HAProxy
 * hands to the agent (no ready container yet, or a path that is not in normal form).
 *
 * A proxied request is reported to the function's Load (load/load.ts) while it lasts, as in flight on
 * the function and on its container (the autoscaler then never scales down a container with an open
 * stream or WebSocket). While no container is ready the request is held, counted on its route
 * (routes/table.ts) against `maxPendingRequests` (`503` beyond) and as waiting on the Load (so a
 * container starts from zero for it), until one is ready or the function's startup timeout passes (`503`).
 *
 * Locally every container gets its own port (`WARMPOOL_WEB_PORT=0`: the worker picks a free one and
 * names it in `/ready`); in a pod it listens on its Function's `webPort` (rendered by the provider).
 * Either way the port is learnt from `/ready` (containers/pool.ts `webPort`).
 */
import * as http from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Agent as Dispatcher } from "undici";
import type { Container } from "../containers/container";
import type { DeployedFunction } from "../apps/deployed-function";
import { PEER_HEADER } from "../routes/routing";
import type { Route } from "../routes/table";
import { AgentError, rawResponse } from "../errors";
import type { WebDeps } from "./deps";

/** Never forwarded in either direction: hop-by-hop (RFC 9110 §7.6.1), or framing the proxy sets itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"]);

/**
 * Connections to the containers' web servers. Idle ones are closed after 4 s, below the keep-alive
 * timeouts web servers commonly use (uvicorn and node:http 5 s), so that the proxy closes first.
 * Answers may take as long as HAProxy allows them (1 h): event streams are quiet for long stretches.
 */
export function webDispatcher(): Dispatcher {
  return new Dispatcher({ keepAliveTimeout: 4000, keepAliveMaxTimeout: 4000, headersTimeout: 3_600_000, bodyTimeout: 3_600_000 });
}

/** Sent once more on a new connection when a kept-alive one fails before any answer (as nginx does). */
const RETRIED = new Set(["GET", "HEAD", "OPTIONS"]);
const SOCKET_ERRORS = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

/** A container to send a request to, and its web server's address. */
export interface Target {
  c: Container;
  host: string;
  port: number;
}

/** The least busy ready container, when its web port is already known: the no-wait path. */
export function readyTarget(fn: DeployedFunction): Target | null {
  const c = fn.pool.leastBusy();
  return c === null || c.webPort === null ? null : { c, host: (c.handle as NonNullable<Container["handle"]>).host, port: c.webPort };
}

/**
 * A ready container (least busy) with its web port, holding the caller while the function starts.
 * `gone` says the caller left: the wait ends (and stops counting as load) as soon as it does.
 */
export async function acquire(deps: WebDeps, route: Route, fn: DeployedFunction, gone: () => boolean): Promise<Target> {
  const clock = deps.options.clock;
  let c = fn.pool.leastBusy();
  if (c === null) {
    // Held while the function starts: counted on the route, at most maxPendingRequests (503 past it).
    route.held.enter(fn.key);
    // Load on the function while it waits: the autoscaler starts a container from zero for it.
    const stopWaiting = fn.load.waiting();
    const since = clock.now();
    fn.pool.demand();
    deps.pressure(fn);
    const deadline = since + fn.config.startupTimeoutMs;
    try {
      while ((c = fn.pool.leastBusy()) === null) {
        if (gone()) throw new AgentError("WP_ERR_BAD_REQUEST", ["the client closed the connection while the request was held"]);
        // A start that will fail the same way again: the held request gets its error now, not a 503 at the deadline.
        const failed = fn.pool.startFailure;
        if (failed !== null && failed.at >= since) throw new AgentError("WP_ERR_START_FAILED", [fn.key, failed.message], failed.traceback === "" ? {} : { traceback: failed.traceback });
        if (clock.now() >= deadline || fn.closed) throw new AgentError("WP_ERR_COLD_START_TIMEOUT", [fn.key, fn.config.startupTimeoutMs / 1000]);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
      }
    } finally {
      stopWaiting();
      route.held.leave();
    }
  }
  const handle = c.handle as NonNullable<Container["handle"]>;
  return { c, host: handle.host, port: await fn.pool.webPort(c) };
}

/**
 * The end-to-end headers to send upstream, from a flat raw list: hop-by-hop ones (and any the client's
 * `Connection` names) dropped, the agent's own token kept at the gateway, `X-Forwarded-Host`/`-Proto`
 * set by this hop (a client's own are dropped: they would be taken for ours), and the client's address
 * appended to `X-Forwarded-For` (a load balancer in front keeps its entries).
 */
export function forwardHeaders(deps: Pick<WebDeps, "checkToken" | "behindHaproxy">, raw: readonly string[], remoteAddress: string | undefined): string[] {
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
    else if (lower === PEER_HEADER && deps.behindHaproxy) client = raw[i + 1];
    else if (lower === "x-forwarded-for") forwardedFor = forwardedFor === undefined ? raw[i + 1] : `${forwardedFor}, ${raw[i + 1]}`;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === "host" || lower.startsWith("x-forwarded-") || lower === PEER_HEADER || (named.length > 0 && named.includes(lower))) continue;
    // The agent's own credentials stay here; any other Authorization is the app's business.
    if (lower === "authorization" && deps.checkToken(raw[i + 1]) === "ok") continue;
    out.push(name, raw[i + 1] as string);
  }
  if (host !== undefined) out.push("host", host, "x-forwarded-host", host);
  out.push("x-forwarded-proto", "http");
  if (client !== undefined) out.push("x-forwarded-for", forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
  return out;
}

/** The answer's end-to-end headers, for the client. */
function backHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = String(headers.connection ?? "")
    .toLowerCase()
    .split(",")
    .map((t) => t.trim());
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.includes(k)) out[k] = v;
  return out;
}

/** Proxies one request (fastify's web route): held while the function starts, then streamed both ways. */
export async function proxyHttp(deps: WebDeps, route: Route, fn: DeployedFunction, path: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const raw = req.raw;
  const target = readyTarget(fn) ?? (await acquire(deps, route, fn, () => raw.destroyed || reply.raw.destroyed));
  const end = fn.load.request(target.c);
  const abort = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) abort.abort();
    end();
  });
  const hasBody = raw.headers["content-length"] !== undefined ? raw.headers["content-length"] !== "0" : raw.headers["transfer-encoding"] !== undefined;
  const method = raw.method as string;
  const options = {
    origin: `http://${target.host}:${target.port}`,
    path,
    method: method as "GET",
    headers: forwardHeaders(deps, raw.rawHeaders, raw.socket.remoteAddress),
    body: hasBody ? raw : null,
    signal: abort.signal,
  };
  let res;
  try {
    try {
      res = await deps.webDispatcher.request(options);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused: nothing reached it.
      if (hasBody || !RETRIED.has(method) || !SOCKET_ERRORS.has((err as { code?: string }).code ?? "") || abort.signal.aborted) throw err;
      res = await deps.webDispatcher.request(options);
    }
  } catch (err) {
    end();
    if (abort.signal.aborted) return reply;
    throw new AgentError("WP_ERR_UPSTREAM", [`the web server of ${fn.key} failed: ${(err as Error).message}`]);
  }
  res.body.once("end", end).once("error", end);
  return reply.code(res.statusCode).headers(backHeaders(res.headers)).send(res.body);
}

/**
 * A WebSocket (or any) upgrade for a webServer endpoint: handshake through node:http, then the sockets
 * are piped. Every error on either socket, at any point, ends both: a client that resets its
 * connection while its upgrade waits for a container is just gone, never an unhandled 'error'.
 */
export async function proxyUpgrade(deps: WebDeps, route: Route, fn: DeployedFunction, path: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  let target: Target;
  try {
    target = readyTarget(fn) ?? (await acquire(deps, route, fn, () => socket.destroyed));
  } catch (err) {
    const e = err instanceof AgentError ? err : new AgentError("WP_ERR_UPSTREAM", [(err as Error).message]);
    if (!socket.destroyed) socket.end(rawResponse(e));
    return;
  }
  if (socket.destroyed) return;
  const end = fn.load.request(target.c);
  const headers = forwardHeaders(deps, req.rawHeaders, req.socket.remoteAddress);
  headers.push("connection", "Upgrade");
  if (req.headers.upgrade !== undefined) headers.push("upgrade", req.headers.upgrade);
  const upstream = http.request({ host: target.host, port: target.port, path, method: req.method, headers });
  const headLines = (res: http.IncomingMessage): string => {
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    return `${lines.join("\r\n")}\r\n\r\n`;
  };
  const clientGone = (): void => {
    upstream.destroy();
    end();
  };
  socket.once("close", clientGone);
  upstream.once("upgrade", (res, upSocket, upHead) => {
    socket.off("close", clientGone);
    const close = (): void => {
      end();
      upSocket.destroy();
      socket.destroy();
    };
    upSocket.once("close", close).on("error", close);
    socket.once("close", close);
    if (socket.destroyed) return close();
    socket.write(headLines(res));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    upSocket.pipe(socket).pipe(upSocket);
  });
  upstream.once("response", (res) => {
    // The server refused the upgrade: pass its answer on, and close.
    socket.off("close", clientGone);
    res.once("end", end).once("error", end);
    res.once("close", () => socket.end());
    if (socket.destroyed) return void res.destroy();
    socket.write(headLines(res));
    res.pipe(socket);
  });
  upstream.once("error", (err) => {
    end();
    if (!socket.destroyed) socket.end(rawResponse(new AgentError("WP_ERR_UPSTREAM", [`the web server of ${fn.key} failed: ${err.message}`])));
  });
  upstream.end();
}
