/**
 * The gateway's web routes: `/web/<app>/*` (and any URL of a request whose Host is an endpoint's
 * domain, routed to it by `gatewayUrl`). Each request is matched to an endpoint (routes/table.ts), checked
 * (method: 405; token unless the endpoint is `public`: 401/403, the same Bearer token as the API),
 * then served by its kind: `function` (function-endpoint.ts) or `webServer` (proxy.ts). Bodies reach these
 * routes unparsed, so a web server behind an endpoint sees them byte for byte. Paths are in normal form
 * before any of this (routes/target.ts), so the path checked is the path served.
 *
 * Errors are JSON `{"error": {"code", "message"}}` like the rest of the gateway.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DeployedFunction } from "../apps/deployed-function";
import { AgentError, rawResponse } from "../errors";
import type { WebDeps } from "./deps";
import { serveFunction } from "./function-endpoint";
import { proxyHttp, proxyUpgrade } from "./proxy";
import { BAD_TARGET, BY_DOMAIN, gatewayUrl, hostOf } from "../routes/routing";
import { WEB_PREFIX, type Route } from "../routes/table";

export interface WebTarget {
  route: Route;
  fn: DeployedFunction;
  /** The path after `/web/<app>`, and the query with its `?` (or ""). */
  sub: string;
  query: string;
}

/** The endpoint and function a web request (URL already through `gatewayUrl`) is for, or the error that refuses it. */
export function resolveWeb(deps: WebDeps, method: string, url: string, host: string | undefined, byDomain: boolean, authorization: string | undefined): WebTarget | AgentError {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const rest = pathname.slice(WEB_PREFIX.length + 1);
  const slash = rest.indexOf("/");
  let appName: string;
  try {
    appName = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
  } catch {
    return new AgentError("WP_ERR_BAD_PATH", [JSON.stringify(pathname.slice(0, 200)), "the app name is not valid percent-encoding"]);
  }
  const sub = slash < 0 ? "/" : rest.slice(slash);
  const route = deps.registry.routes.match(appName, sub, hostOf(host), byDomain);
  if (route === undefined) return new AgentError("WP_ERR_ENDPOINT_NOT_FOUND", [`${method} ${pathname.slice(0, 200)}`]);
  const spec = route.spec;
  if (!spec.methods.includes(method as (typeof spec.methods)[number])) {
    return new AgentError("WP_ERR_METHOD_NOT_ALLOWED", [`endpoint ${route.key} accepts ${route.allow}, not ${method}`], { allow: route.allow });
  }
  if (!spec.public) {
    const auth = deps.checkToken(authorization);
    if (auth === "missing") return new AgentError("WP_ERR_UNAUTHORIZED");
    if (auth === "wrong") return new AgentError("WP_ERR_FORBIDDEN");
  }
  const fn = deps.registry.find(spec.app, spec.function);
  if (fn === undefined) return new AgentError("WP_ERR_FUNCTION_NOT_FOUND", [JSON.stringify(spec.app), JSON.stringify(spec.function)]);
  return { route, fn, sub, query: q < 0 ? "" : url.slice(q) };
}

/**
 * Upgrades (WebSocket) never reach fastify's router: they are matched here, for webServer endpoints.
 * The socket is node's to hand over and nobody else's from here on, so it gets its error listener
 * first: a client that resets it at any point is just gone.
 */
function onUpgrade(deps: WebDeps, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on("error", () => socket.destroy());
  const fail = (err: AgentError): void => void socket.end(rawResponse(err));
  const url = gatewayUrl(deps.registry.routes, req);
  const bad = (req as unknown as Record<symbol, unknown>)[BAD_TARGET];
  if (typeof bad === "string") return fail(new AgentError("WP_ERR_BAD_PATH", [JSON.stringify((req.url ?? "").slice(0, 200)), bad]));
  if (!url.startsWith(`${WEB_PREFIX}/`))
    return fail(new AgentError("WP_ERR_ROUTE_NOT_FOUND", [`${req.method} ${url.split("?")[0]?.slice(0, 200)} (upgrades are served only for web-server endpoints)`]));
  const byDomain = (req as unknown as Record<symbol, unknown>)[BY_DOMAIN] === true;
  const found = resolveWeb(deps, req.method ?? "GET", url, req.headers.host, byDomain, req.headers.authorization);
  if (found instanceof AgentError) return fail(found);
  if (found.route.spec.kind !== "webServer") return fail(new AgentError("WP_ERR_ENDPOINT_NOT_FOUND", [`an upgrade of ${found.sub} (only web-server endpoints take upgrades)`]));
  void proxyUpgrade(deps, found.route, found.fn, found.sub + found.query, req, socket, head);
}

export function registerWeb(app: FastifyInstance, deps: WebDeps): void {
  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(deps, req, socket, head));
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
    scope.route({
      method: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
      url: `${WEB_PREFIX}/*`,
      config: { public: true },
      handler: async function web(req: FastifyRequest, reply: FastifyReply) {
        const byDomain = (req.raw as unknown as Record<symbol, unknown>)[BY_DOMAIN] === true;
        const found = resolveWeb(deps, req.method, req.url, req.headers.host, byDomain, req.headers.authorization);
        if (found instanceof AgentError) throw found;
        const { route, fn, sub, query } = found;
        if (route.spec.kind === "webServer") return proxyHttp(deps, route, fn, sub + query, req, reply);
        return serveFunction(deps, route, fn, sub, req, reply);
      },
    });
  });
}
