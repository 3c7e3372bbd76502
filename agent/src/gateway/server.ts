/**
 * The gateway: fastify 5 with the agent's routes. Authentication, limits and error bodies live here;
 * the invocation routes are in calls.ts and map.ts, the read-only ones in apps.ts.
 *
 * - Bearer token on every route except `/healthz` and `/readyz` (route config `public`): 401 without
 *   one, 403 with a wrong one, compared in constant time.
 * - The payload limit is fastify's `bodyLimit` (413); NDJSON map bodies are streamed and limited per
 *   line instead.
 * - Every error is `{"error": {"code": "WP_ERR_*", "message", ...}}` (errors.ts).
 * - No fastify request logging: the hot path logs nothing per request.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { SpecError } from "@warmpool/schema";
import type { Agent } from "../agent";
import { AgentError } from "../errors";
import { registerApps } from "./apps";
import { registerCalls } from "./calls";
import { registerMap } from "./map";
import { registerSchedules } from "../schedules/routes";
import { rewriteForDomain } from "../endpoints/routing";
import { registerWeb } from "../endpoints/web";
import { meetConnections } from "../endpoints/connection";

declare module "fastify" {
  interface FastifyContextConfig {
    public?: boolean;
  }
}

export function buildGateway(agent: Agent): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: agent.options.payloadLimitBytes,
    keepAliveTimeout: 75_000,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Requests for an endpoint's custom domain are routed to its `/web/<app>` path (endpoints/routing.ts).
    rewriteUrl: (req) => rewriteForDomain(agent, req),
  });

  // Web-server endpoint requests are proxied before node:http parses them (endpoints/connection.ts).
  const closeConnections = meetConnections(app.server, agent);
  app.addHook("preClose", (done) => {
    closeConnections();
    done();
  });

  app.addHook("onRequest", (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    if (req.routeOptions.config.public === true) return done();
    const auth = agent.checkToken(req.headers.authorization);
    if (auth === "missing") return done(new AgentError("WP_ERR_UNAUTHORIZED"));
    if (auth === "wrong") return done(new AgentError("WP_ERR_FORBIDDEN"));
    done();
  });

  // NDJSON map bodies are read as a stream by the map route.
  app.addContentTypeParser("application/x-ndjson", (_req, payload, done) => done(null, payload));

  app.setNotFoundHandler((req, reply) => {
    const err = new AgentError("WP_ERR_ROUTE_NOT_FOUND", [`${req.method} ${req.url.split("?")[0]}`]);
    void reply.code(err.status).send(err.toJSON());
  });

  app.setErrorHandler((error: FastifyError | Error, _req, reply) => {
    const body = errorBody(error, agent.options.payloadLimitBytes);
    if (body.retryAfter !== undefined) void reply.header("retry-after", String(body.retryAfter));
    void reply.code(body.status).type("application/json").send(body.json);
  });

  app.get("/healthz", { config: { public: true } }, async () => ({ ok: true }));
  app.get("/readyz", { config: { public: true } }, async (_req, reply) => {
    if (!agent.ready) return reply.code(503).send({ ready: false });
    return { ready: true };
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await agent.metrics.registry.metrics();
    return reply.type(agent.metrics.registry.contentType).send(text);
  });

  registerCalls(app, agent);
  registerMap(app, agent);
  registerApps(app, agent);
  registerSchedules(app, agent);
  registerWeb(app, agent);
  return app;
}

interface ErrorResponse {
  status: number;
  json: unknown;
  retryAfter?: number;
}

function errorBody(error: FastifyError | Error, limit: number): ErrorResponse {
  if (error instanceof AgentError) {
    const retryAfter = error.code === "WP_ERR_TOO_MANY_PENDING" ? Number(error.details.retryAfter ?? 1) : undefined;
    return { status: error.status, json: error.toJSON(), ...(retryAfter === undefined ? {} : { retryAfter }) };
  }
  if (error instanceof SpecError) {
    return { status: 400, json: { error: { code: error.code, message: error.message, problems: error.problems } } };
  }
  const code = (error as FastifyError).code;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return wrap(new AgentError("WP_ERR_PAYLOAD_TOO_LARGE", [limit]));
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const wrapped = new AgentError("WP_ERR_BAD_REQUEST", [error.message]);
    return { status: status === 415 ? 415 : 400, json: wrapped.toJSON() };
  }
  return wrap(new AgentError("WP_ERR_INTERNAL", [error.message]));
}

function wrap(err: AgentError): ErrorResponse {
  return { status: err.status, json: err.toJSON() };
}
