/**
 * The gateway's web routes: `/web/<app>/*` (and any URL of a request whose Host is an endpoint's
 * domain, rewritten to it by `rewriteForDomain`). Each request is matched to an endpoint (routing.ts),
 * checked (method: 405; token unless the endpoint is `public`: 401/403, the same Bearer token as the
 * API), then served by its kind: `function` (function.ts) or `webServer` (proxy.ts). Bodies reach these
 * routes unparsed, so a web server behind an endpoint sees them byte for byte.
 *
 * Errors are JSON `{"error": {"code", "message"}}` like the rest of the gateway.
 */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Agent } from "../agent";
import { serveFunction, webError } from "./function";
import { BY_DOMAIN, route, WEB_PREFIX } from "./routing";

export interface WebServerHandler {
  (agent: Agent, req: FastifyRequest, reply: FastifyReply, target: { app: string; fn: string; port: number; path: string }): Promise<unknown>;
}

let webServerHandler: WebServerHandler | null = null;
/** The web-server proxy registers itself here (proxy.ts). */
export function setWebServerHandler(h: WebServerHandler): void {
  webServerHandler = h;
}

export function authorized(agent: Agent, header: string | undefined): "ok" | "missing" | "wrong" {
  if (header === undefined || !header.startsWith("Bearer ")) return "missing";
  const given = Buffer.from(header);
  const expected = Buffer.from(`Bearer ${agent.token}`);
  return given.length === expected.length && timingSafeEqual(given, expected) ? "ok" : "wrong";
}

export function registerWeb(app: FastifyInstance, agent: Agent): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
    scope.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
      url: `${WEB_PREFIX}/*`,
      config: { public: true },
      handler: async function web(req: FastifyRequest, reply: FastifyReply) {
        const url = req.url;
        const q = url.indexOf("?");
        const pathname = q < 0 ? url : url.slice(0, q);
        const rest = pathname.slice(WEB_PREFIX.length + 1);
        const slash = rest.indexOf("/");
        const appName = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
        const sub = slash < 0 ? "/" : rest.slice(slash);
        const byDomain = (req.raw as unknown as Record<symbol, unknown>)[BY_DOMAIN] === true;
        const spec = route(agent, appName, sub, req.headers.host, byDomain);
        if (spec === undefined) return webError(reply, 404, "WP_ERR_ENDPOINT_NOT_FOUND", `no endpoint for ${req.method} ${pathname}`);
        const methods = spec.methods ?? ["GET", "POST"];
        if (!methods.includes(req.method as (typeof methods)[number]) && spec.kind !== "webServer") {
          reply.header("allow", methods.join(", "));
          return webError(reply, 405, "WP_ERR_METHOD_NOT_ALLOWED", `endpoint ${spec.app}/${spec.name} accepts ${methods.join(", ")}, not ${req.method}`);
        }
        if (spec.public !== true) {
          const auth = authorized(agent, req.headers.authorization);
          if (auth === "missing") return webError(reply, 401, "WP_ERR_UNAUTHORIZED", "missing bearer token: send 'Authorization: Bearer <token>' (the endpoint is not public)");
          if (auth === "wrong") return webError(reply, 403, "WP_ERR_FORBIDDEN", "the bearer token is not valid for this agent");
        }
        const fn = agent.apps.get(spec.app)?.functions.get(spec.function);
        if (fn === undefined) return webError(reply, 404, "WP_ERR_FUNCTION_NOT_FOUND", `app ${spec.app} has no function ${spec.function}`);
        if (spec.kind === "webServer") {
          if (webServerHandler === null) return webError(reply, 501, "WP_ERR_NOT_IMPLEMENTED", "web-server endpoints are not available in this build");
          return webServerHandler(agent, req, reply, { app: spec.app, fn: spec.function, port: spec.port ?? 8080, path: url.slice(WEB_PREFIX.length + 1 + (slash < 0 ? rest.length : slash)) || "/" });
        }
        return serveFunction(agent, spec, fn, sub, req, reply);
      },
    });
  });
}
