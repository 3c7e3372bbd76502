/**
 * The gateway's web routes: `/web/<app>/*` (and any URL of a request whose Host is an endpoint's
 * domain, rewritten to it by `rewriteForDomain`). Each request is matched to an endpoint (routing.ts),
 * checked (method: 405; token unless the endpoint is `public`: 401/403, the same Bearer token as the
 * API), then served by its kind: `function` (function.ts) or `webServer` (proxy.ts). Bodies reach these
 * routes unparsed, so a web server behind an endpoint sees them byte for byte.
 *
 * Errors are JSON `{"error": {"code", "message"}}` like the rest of the gateway.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EndpointSpec } from "@warmpool/schema";
import type { Agent } from "../agent";
import type { FunctionRuntime } from "../dispatcher/function";
import { serveFunction, webError } from "./function";
import { errorResponse, proxyHttp, proxyUpgrade } from "./proxy";
import { BY_DOMAIN, rewriteForDomain, route, WEB_PREFIX } from "./routing";

export interface WebTarget {
  spec: EndpointSpec;
  fn: FunctionRuntime;
  /** The path after `/web/<app>`, and the query with its `?` (or ""). */
  sub: string;
  query: string;
}

export interface WebRefusal {
  status: number;
  code: string;
  message: string;
  allow?: string;
}

/** The endpoint and function a web request (URL already rewritten for domains) is for, or why it is refused. */
export function resolveWeb(agent: Agent, method: string, url: string, host: string | undefined, byDomain: boolean, authorization: string | undefined): WebTarget | WebRefusal {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const rest = pathname.slice(WEB_PREFIX.length + 1);
  const slash = rest.indexOf("/");
  let appName: string;
  try {
    appName = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
  } catch {
    return { status: 400, code: "WP_ERR_BAD_REQUEST", message: `the app name in ${JSON.stringify(pathname.slice(0, 200))} is not valid percent-encoding` };
  }
  const sub = slash < 0 ? "/" : rest.slice(slash);
  const spec = route(agent, appName, sub, host, byDomain);
  if (spec === undefined) return { status: 404, code: "WP_ERR_ENDPOINT_NOT_FOUND", message: `no endpoint for ${method} ${pathname}` };
  const methods = spec.methods ?? ["GET", "POST"];
  if (!methods.includes(method as (typeof methods)[number])) {
    return { status: 405, code: "WP_ERR_METHOD_NOT_ALLOWED", message: `endpoint ${spec.app}/${spec.name} accepts ${methods.join(", ")}, not ${method}`, allow: methods.join(", ") };
  }
  if (spec.public !== true) {
    const auth = agent.checkToken(authorization);
    if (auth === "missing") return { status: 401, code: "WP_ERR_UNAUTHORIZED", message: "missing bearer token: send 'Authorization: Bearer <token>' (the endpoint is not public)" };
    if (auth === "wrong") return { status: 403, code: "WP_ERR_FORBIDDEN", message: "the bearer token is not valid for this agent" };
  }
  const fn = agent.apps.get(spec.app)?.functions.get(spec.function);
  if (fn === undefined) return { status: 404, code: "WP_ERR_FUNCTION_NOT_FOUND", message: `app ${spec.app} has no function ${spec.function}` };
  return { spec, fn, sub, query: q < 0 ? "" : url.slice(q) };
}

export function registerWeb(app: FastifyInstance, agent: Agent): void {
  // Upgrades (WebSocket) never reach fastify's router: they are matched here, for webServer endpoints.
  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = rewriteForDomain(agent, req);
    const fail = (status: number, code: string, message: string): void => void socket.end(errorResponse(status, code, message));
    if (!url.startsWith(`${WEB_PREFIX}/`)) return fail(404, "WP_ERR_ROUTE_NOT_FOUND", "upgrades are served only for web-server endpoints");
    const byDomain = (req as unknown as Record<symbol, unknown>)[BY_DOMAIN] === true;
    const found = resolveWeb(agent, req.method ?? "GET", url, req.headers.host, byDomain, req.headers.authorization);
    if ("status" in found) return fail(found.status, found.code, found.message);
    if (found.spec.kind !== "webServer") return fail(404, "WP_ERR_ENDPOINT_NOT_FOUND", `no web-server endpoint for ${found.sub}`);
    void proxyUpgrade(agent, found.spec, found.fn, found.sub + found.query, req, socket, head);
  });
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
    scope.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
      url: `${WEB_PREFIX}/*`,
      config: { public: true },
      handler: async function web(req: FastifyRequest, reply: FastifyReply) {
        const byDomain = (req.raw as unknown as Record<symbol, unknown>)[BY_DOMAIN] === true;
        const found = resolveWeb(agent, req.method, req.url, req.headers.host, byDomain, req.headers.authorization);
        if ("status" in found) {
          if (found.allow !== undefined) reply.header("allow", found.allow);
          return webError(reply, found.status, found.code, found.message);
        }
        const { spec, fn, sub, query } = found;
        if (spec.kind === "webServer") return proxyHttp(agent, spec, fn, sub + query, req, reply);
        return serveFunction(agent, spec, fn, sub, req, reply);
      },
    });
  });
}
