/**
 * What the gateway reads off a request to route it. Endpoints are reached under the gateway prefix
 * `/web/<app><path>` (the provider's Endpoint exposes this as `gatewayPath`), or, for an endpoint with
 * `domains`, at any path of a request whose `Host` is one of them: `gatewayUrl` rewrites that request's
 * URL to `/web/<app><path>` first, with one lookup in the route table (table.ts), which then picks the
 * endpoint.
 */
import { normalizeTarget } from "./target";
import { WEB_PREFIX, type RouteTable } from "./table";

/**
 * Set by HAProxy on every request it passes to the agent: the client's address (HAProxy's own peer is
 * loopback). The agent's handlers drop it; its own proxy reads it behind HAProxy only.
 */
export const PEER_HEADER = "x-warmpool-peer";

/** Set on a raw request that `gatewayUrl` routed by its Host header. */
export const BY_DOMAIN = Symbol("warmpool.byDomain");

/** Set on a raw request whose target has no normal form (target.ts): why. */
export const BAD_TARGET = Symbol("warmpool.badTarget");

/** The Host header without a trailing `:<digits>`, lowercased ("" without one). */
export function hostOf(header: string | undefined): string {
  if (header === undefined) return "";
  return header.replace(/:\d+$/, "").toLowerCase();
}

/**
 * The URL the gateway routes a request by (fastify's `rewriteUrl`, and the upgrade handler): the
 * target in normal form (target.ts), and for a request whose Host is an endpoint's domain, under
 * `/web/<app>`. A target with no normal form is marked with BAD_TARGET and routed to `/`, where the
 * gateway's first hook answers it 400.
 */
export function gatewayUrl(routes: RouteTable, req: { url?: string; headers: { host?: string } }): string {
  const target = normalizeTarget(req.url ?? "/");
  if (!target.ok) {
    (req as Record<symbol, unknown>)[BAD_TARGET] = target.reason;
    return "/";
  }
  const url = target.path + target.query;
  const h = hostOf(req.headers.host);
  if (h === "" || h === "127.0.0.1" || h === "localhost") return url;
  const app = routes.appOfDomain(h);
  if (app === undefined) return url;
  (req as Record<symbol, unknown>)[BY_DOMAIN] = true;
  return `${WEB_PREFIX}/${app}${url}`;
}
