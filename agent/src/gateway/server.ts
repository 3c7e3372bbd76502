/**
 * The gateway: fastify 5 with the agent's routes. Authentication, limits and error bodies live here;
 * the invocation routes are in calls.ts and map.ts, the read-only ones in apps.ts.
 *
 * - Bearer token on every route except `/healthz` and `/readyz` (route config `public`): 401 without
 *   one, 403 with a wrong one, compared in constant time.
 * - Paths are put in normal form before routing (target.ts); one with none is a 400.
 * - Limits: open connections (connections.ts: 503 past the cap), the head within `headersTimeout`,
 *   bodies at a minimum rate (slow-bodies.ts: 408), bodies within `bodyLimit` (413; NDJSON map bodies
 *   are streamed and limited per line instead), JSON nested at most MAX_JSON_DEPTH deep (400).
 * - Every error, including what node:http and fastify would answer themselves (parse errors, header
 *   overflow, timeouts, bad URLs, CONNECT), is `{"error": {"code": "WP_ERR_*", "message", ...}}`
 *   (errors.ts).
 * - No fastify request logging: the hot path logs nothing per request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { SpecError } from "@warmpool/schema";
import { AgentError, errorBody, errorHeaders, rawResponse } from "../errors";
import { registerApps } from "./apps";
import { jsonTooDeep, tooDeep } from "./body";
import { registerCalls } from "./calls";
import { registerCollections } from "./collections";
import { registerPayloads } from "./payloads";
import { limitConnections } from "./connections";
import { registerContainers } from "./containers";
import { registerLogs } from "./logs";
import { registerMap } from "./map";
import { SlowBodies } from "./slow-bodies";
import type { GatewayDeps } from "./deps";
import { registerSchedules } from "./schedules";
import { BAD_TARGET, gatewayUrl } from "../routes/routing";
import { ADMIN, type Principal } from "../token";

declare module "fastify" {
  interface FastifyContextConfig {
    public?: boolean;
    /**
     * Which App tokens may use the route (token.ts): `app`, those of the App named by the path's `:app`;
     * `any`, every App token, the route itself confining it to what its App owns (a call of the App, its
     * Dicts and Queues). Absent: the admin token only.
     */
    scoped?: "app" | "any";
  }
  interface FastifyRequest {
    /** Who the request acts for; set by the auth hook (the admin for public routes). */
    principal: Principal;
  }
}

/** How often node:http checks heads against headersTimeout (its default, 30 s, would let a slow head run 40 s). */
const CHECK_INTERVAL_MS = 1000;

/** The gateway with the API's routes; the web endpoints' routes are added by endpoints/web.ts. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const o = deps.options;
  const app = Fastify({
    logger: false,
    bodyLimit: o.payloadLimitBytes,
    keepAliveTimeout: 75_000,
    forceCloseConnections: true,
    // Host is checked in onRequest, so that its 400 has the catalogue's body (node:http's is empty).
    http: { connectionsCheckingInterval: CHECK_INTERVAL_MS, headersTimeout: o.headersTimeoutMs, requireHostHeader: false },
    // Bodies have their own rule (slow-bodies.ts), not one total deadline.
    requestTimeout: 0,
    // Requests for an endpoint's custom domain are routed to its `/web/<app>` path (routes/routing.ts).
    rewriteUrl: (req) => gatewayUrl(deps.registry.routes, req),
    clientErrorHandler: (err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex) => clientError(err, socket, o.headersTimeoutMs),
    frameworkErrors: (err, _req, reply) => {
      sendError(reply as FastifyReply, new AgentError("WP_ERR_BAD_REQUEST", [err.message]));
    },
  });
  app.server.headersTimeout = o.headersTimeoutMs;

  const connections = limitConnections(app.server, o.maxConnections);
  const slow = new SlowBodies({ graceMs: o.bodyTimeoutMs, minRate: o.bodyMinRate });
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    connections.close();
    slow.close();
    done();
  });

  // CONNECT is a proxy's method; node:http would otherwise close the socket without a word.
  app.server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", () => socket.destroy());
    socket.end(rawResponse(new AgentError("WP_ERR_METHOD_NOT_ALLOWED", ["CONNECT is a proxy's method; the gateway is not a proxy"]), { allow: "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS" }));
  });
  // An Expect other than 100-continue: node:http would answer an empty 417 itself.
  app.server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const err = new AgentError("WP_ERR_EXPECTATION_FAILED", [JSON.stringify(req.headers.expect ?? "").slice(0, 100)]);
    const body = errorBody(err);
    res.writeHead(err.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...errorHeaders(err), connection: "close" }).end(body);
  });

  // null until the auth hook sets it (fastify refuses an object as a shared default).
  app.decorateRequest<Principal | null>("principal", null);
  app.addHook("onRequest", (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const bad = (req.raw as unknown as Record<symbol, unknown>)[BAD_TARGET];
    if (typeof bad === "string") return done(new AgentError("WP_ERR_BAD_PATH", [JSON.stringify((req.originalUrl ?? "").slice(0, 200)), bad]));
    if (req.raw.httpVersion === "1.1" && req.headers.host === undefined) return done(new AgentError("WP_ERR_BAD_REQUEST", ["an HTTP/1.1 request needs a Host header"]));
    if (closing) return done(new AgentError("WP_ERR_SHUTTING_DOWN"));
    slow.watch(req.raw, reply.raw);
    if (req.routeOptions.config.public === true) return done();
    const auth = deps.checkPrincipal === undefined ? admitAdmin(deps.checkToken(req.headers.authorization)) : deps.checkPrincipal(req.headers.authorization);
    if (auth === "missing") return done(new AgentError("WP_ERR_UNAUTHORIZED"));
    if (auth === "wrong") return done(new AgentError("WP_ERR_FORBIDDEN"));
    req.principal = auth;
    if (auth.kind === "app") return done(outOfScope(auth.app, req));
    done();
  });

  // JSON bodies: fastify's parser (which refuses __proto__ and constructor keys), after a depth check.
  const json = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    if (jsonTooDeep(body as string)) return done(tooDeep("the request body"), undefined);
    json(req, body as string, done);
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new AgentError("WP_ERR_ROUTE_NOT_FOUND", [`${req.method} ${req.url.split("?")[0]?.slice(0, 200)}`]));
  });

  // The route's own limit where it has one (POST /v1/payloads), for the 413's message.
  app.setErrorHandler((error: FastifyError | Error, req, reply) => sendError(reply, asAgentError(error, req.routeOptions?.bodyLimit ?? o.payloadLimitBytes)));

  app.get("/healthz", { config: { public: true } }, async () => ({ ok: true }));
  app.get("/readyz", { config: { public: true } }, async (_req, reply) => {
    if (!deps.state.ready) return reply.code(503).send({ ready: false });
    return { ready: true };
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });

  registerCalls(app, deps);
  // NDJSON bodies only where they mean something: the map route reads them as a stream.
  void app.register(async (scope) => {
    scope.addContentTypeParser("application/x-ndjson", (_req, payload, done) => done(null, payload));
    registerMap(scope, deps);
  });
  registerApps(app, deps);
  registerCollections(app, deps);
  registerPayloads(app, deps);
  registerLogs(app, deps);
  registerContainers(app, deps);
  registerSchedules(app, deps.schedules);
  return app;
}

function admitAdmin(check: "ok" | "missing" | "wrong"): Principal | "missing" | "wrong" {
  return check === "ok" ? ADMIN : check;
}

/** Why an App token may not use this route, or undefined when it may (see FastifyContextConfig.scoped). */
function outOfScope(app: string, req: FastifyRequest): AgentError | undefined {
  const scoped = req.routeOptions.config.scoped;
  if (scoped === "any") return undefined;
  const target = (req.params as { app?: unknown } | undefined)?.app;
  if (scoped === "app" && target === app) return undefined;
  const what = `${req.method} ${(req.url.split("?")[0] ?? "").slice(0, 200)}`;
  return new AgentError("WP_ERR_TOKEN_SCOPE", [JSON.stringify(app), what]);
}

/** Answers `err` on a fastify reply: its status, headers (errors.ts `errorHeaders`) and body. */
function sendError(reply: FastifyReply, err: AgentError): void {
  void reply.code(err.status).headers(errorHeaders(err)).type("application/json").send(errorBody(err));
}

/** Any error a route or fastify raised, as the catalogue's. */
function asAgentError(error: FastifyError | Error, limit: number): AgentError {
  if (error instanceof AgentError) return error;
  if (error instanceof SpecError) {
    const err = new AgentError("WP_ERR_INVALID_SPEC", [error.message], { problems: error.problems });
    return err;
  }
  const code = (error as FastifyError).code;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return new AgentError("WP_ERR_PAYLOAD_TOO_LARGE", [limit]);
  const status = (error as FastifyError).statusCode;
  if (status === 415) return new AgentError("WP_ERR_UNSUPPORTED_MEDIA_TYPE", [error.message]);
  if (status !== undefined && status >= 400 && status < 500) return new AgentError("WP_ERR_BAD_REQUEST", [error.message]);
  return new AgentError("WP_ERR_INTERNAL", [error.message]);
}

/**
 * What node:http found wrong before a request reached fastify: a head it cannot parse (a TLS hello,
 * bare LF line ends, a bad header), one larger than its limit, or one that took longer than
 * headersTimeout. Answered in the catalogue's shape, then the connection is closed.
 */
function clientError(err: NodeJS.ErrnoException & { bytesParsed?: number; reason?: string }, socket: Duplex, headersTimeoutMs: number): void {
  const pending = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || socket.destroyed || !socket.writable || pending?.headersSent === true) return void socket.destroy();
  let answer: AgentError;
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") answer = new AgentError("WP_ERR_REQUEST_TIMEOUT", [`the request head did not arrive within ${headersTimeoutMs / 1000} s`]);
  else if (err.code === "HPE_HEADER_OVERFLOW") answer = new AgentError("WP_ERR_HEADERS_TOO_LARGE", [16 * 1024]);
  else answer = new AgentError("WP_ERR_BAD_REQUEST", [`not a valid HTTP/1.1 request (${err.reason ?? err.code ?? err.message})`]);
  socket.end(rawResponse(answer), () => socket.destroy());
}
