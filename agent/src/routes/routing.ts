/**
 * Which endpoint a request is for. Endpoints are reached under the gateway prefix
 * `/web/<app><path>` (the provider's Endpoint exposes this as `gatewayPath`), or, for an endpoint with
 * `domains`, at any path of a request whose `Host` is one of them (the gateway rewrites that request's
 * URL to `/web/<app><path>` first, see `rewriteForDomain`). Within an app the longest matching path
 * prefix wins; a prefix matches at a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`).
 */
import type { ResolvedEndpointSpec } from "@warmpool/schema";
import type { Registry } from "../apps/registry";
import { normalizeTarget } from "./target";

export const WEB_PREFIX = "/web";

export function gatewayPath(spec: Pick<ResolvedEndpointSpec, "app" | "path">): string {
  const p = spec.path;
  return `${WEB_PREFIX}/${spec.app}${p === "/" ? "/" : p}`;
}

function hostOf(header: string | undefined): string {
  if (header === undefined) return "";
  return header.replace(/:\d+$/, "").toLowerCase();
}

/**
 * Path parameters (`/private;x/y`) are dropped for matching: servlet containers read that path as
 * `/private/y`, so it must need what `/private/y` needs. The server still gets the path as it came.
 */
function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || prefix === "") return true;
  const p = path.includes(";") ? path.replace(/;[^/]*/g, "") : path;
  const pre = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return p === pre || p.startsWith(`${pre}/`);
}

/** The endpoint of `app` for `path` (the part after `/web/<app>`), restricted to `host` when the request came by domain. */
export function route(registry: Registry, app: string, p: string, host: string | undefined, byDomain: boolean): ResolvedEndpointSpec | undefined {
  const endpoints = registry.app(app)?.loaded.endpoints;
  if (endpoints === undefined) return undefined;
  const h = hostOf(host);
  let best: ResolvedEndpointSpec | undefined;
  for (const e of endpoints) {
    if (byDomain && !e.domains.includes(h)) continue;
    if (!prefixMatches(e.path, p)) continue;
    if (best === undefined || e.path.length > best.path.length) best = e;
  }
  return best;
}

/** Set on a raw request that `gatewayUrl` routed by its Host header. */
export const BY_DOMAIN = Symbol("warmpool.byDomain");

/** Set on a raw request whose target has no normal form (routes/target.ts): why. */
export const BAD_TARGET = Symbol("warmpool.badTarget");

/**
 * The URL the gateway routes a request by (fastify's `rewriteUrl`, and the upgrade handler): the
 * target in normal form (routes/target.ts), and for a request whose Host is an endpoint's domain,
 * under `/web/<app>`. A target with no normal form is marked with BAD_TARGET and routed to `/`, where
 * the gateway's first hook answers it 400.
 */
export function gatewayUrl(registry: Registry, req: { url?: string; headers: { host?: string } }): string {
  const target = normalizeTarget(req.url ?? "/");
  if (!target.ok) {
    (req as Record<symbol, unknown>)[BAD_TARGET] = target.reason;
    return "/";
  }
  const url = target.path + target.query;
  const h = hostOf(req.headers.host);
  if (h === "" || h === "127.0.0.1" || h === "localhost") return url;
  for (const app of registry.apps()) {
    for (const e of app.loaded.endpoints) {
      if (e.domains.includes(h)) {
        (req as Record<symbol, unknown>)[BY_DOMAIN] = true;
        return `${WEB_PREFIX}/${app.name}${url}`;
      }
    }
  }
  return url;
}
