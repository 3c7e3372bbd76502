/**
 * The route table: every endpoint of every deployed app, compiled once per deploy and read by the
 * agent's router (routing.ts, endpoints/web.ts), by status (describe.ts) and by the HAProxy
 * configuration (dataplane/haproxy-config.ts), so that the rule exists once. Nothing is scanned per
 * request: a Host is one map lookup, an app's routes are already ordered.
 *
 * The rule: within an app the longest path prefix wins (by the length of the path as declared, the
 * first declared among equals), matched at a segment boundary (`/api` matches `/api` and `/api/x`,
 * not `/apix`). A request whose Host is a domain of an endpoint goes to the first deployed app that
 * has that domain, and there only to the endpoints that list it.
 *
 * Each route also counts the requests it holds while its function has no ready container, against
 * the endpoint's `maxPendingRequests`: one counter per route, carried over when a redeploy keeps the
 * endpoint, so held requests are never counted twice nor forgotten.
 */
import type { ResolvedEndpointSpec } from "@warmpool/schema";
import { AgentError } from "../errors";

export const WEB_PREFIX = "/web";

/** Requests an endpoint holds while its function starts, at most `limit` (its maxPendingRequests). */
export class HeldRequests {
  private count = 0;

  constructor(
    /** `app/endpoint`, for the refusal. */
    readonly key: string,
    readonly limit: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Takes one more request, or throws the 503 that refuses it (`Retry-After: 1`). `fn` names the function that starts. */
  enter(fn: string): void {
    if (this.count >= this.limit) {
      throw new AgentError("WP_ERR_ENDPOINT_OVERLOADED", [`endpoint ${this.key} already holds ${this.count} requests while ${fn} starts (maxPendingRequests ${this.limit}); retry later`], {
        pending: this.count,
        limit: this.limit,
        retryAfter: 1,
      });
    }
    this.count++;
  }

  leave(): void {
    if (this.count > 0) this.count--;
  }
}

export interface Route {
  readonly app: string;
  /** The endpoint's name. */
  readonly name: string;
  /** `app/name`. */
  readonly key: string;
  readonly spec: ResolvedEndpointSpec;
  /** The path as a prefix at a segment boundary: `/api` for `/api` and `/api/`, "" for `/`. */
  readonly prefix: string;
  /** Where the gateway serves it: `/web/<app><path>`. */
  readonly gatewayPath: string;
  /** The methods, as a 405's `Allow` names them. */
  readonly allow: string;
  readonly held: HeldRequests;
}

/** What a route table is compiled from: an app's name and its endpoints. */
export interface RoutedApp {
  readonly name: string;
  readonly endpoints: readonly ResolvedEndpointSpec[];
}

export function gatewayPath(spec: Pick<ResolvedEndpointSpec, "app" | "path">): string {
  return `${WEB_PREFIX}/${spec.app}${spec.path}`;
}

function compileRoute(spec: ResolvedEndpointSpec, previous: Route | undefined): Route {
  const key = `${spec.app}/${spec.name}`;
  const keep = previous !== undefined && previous.held.limit === spec.maxPendingRequests;
  return {
    app: spec.app,
    name: spec.name,
    key,
    spec,
    prefix: spec.path.endsWith("/") ? spec.path.slice(0, -1) : spec.path,
    gatewayPath: gatewayPath(spec),
    allow: spec.methods.join(", "),
    held: keep ? previous.held : new HeldRequests(key, spec.maxPendingRequests),
  };
}

/**
 * Path parameters (`/private;x/y`) are dropped for matching: servlet containers read that path as
 * `/private/y`, so it must need what `/private/y` needs. The server still gets the path as it came.
 */
function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "") return true;
  const p = path.includes(";") ? path.replace(/;[^/]*/g, "") : path;
  return p === prefix || p.startsWith(`${prefix}/`);
}

export class RouteTable {
  /** Each app's routes as declared. */
  private readonly byApp = new Map<string, readonly Route[]>();
  /** Each app's routes, longest declared path first (a stable sort keeps the declared order among equals). */
  private readonly ranked = new Map<string, readonly Route[]>();
  /** Each domain's apps, in the order they were deployed. */
  private readonly byDomain = new Map<string, string[]>();

  /** `apps` in the order they were deployed; `previous`: the table this one replaces, whose held counts carry over. */
  constructor(apps: Iterable<RoutedApp>, previous?: RouteTable) {
    for (const app of apps) {
      const old = new Map((previous?.byApp.get(app.name) ?? []).map((r) => [r.name, r]));
      const routes = app.endpoints.map((e) => compileRoute(e, old.get(e.name)));
      this.byApp.set(app.name, routes);
      this.ranked.set(
        app.name,
        [...routes].sort((a, b) => b.spec.path.length - a.spec.path.length),
      );
      for (const r of routes) {
        for (const d of r.spec.domains) {
          const owners = this.byDomain.get(d) ?? [];
          if (!owners.includes(app.name)) owners.push(app.name);
          this.byDomain.set(d, owners);
        }
      }
    }
  }

  /** The apps with their routes in the order they are tried (longest path first), apps in the order they were deployed. */
  apps(): IterableIterator<[string, readonly Route[]]> {
    return this.ranked.entries();
  }

  /** The routes of `app` as declared. */
  routes(app: string): readonly Route[] {
    return this.byApp.get(app) ?? [];
  }

  get(app: string, endpoint: string): Route | undefined {
    return this.routes(app).find((r) => r.name === endpoint);
  }

  /** The app a request for `host` (lowercase, no port) goes to: the first deployed app with that domain. */
  appOfDomain(host: string): string | undefined {
    return this.byDomain.get(host)?.[0];
  }

  /** Every endpoint domain, with the apps that declare it. */
  domains(): IterableIterator<[string, readonly string[]]> {
    return this.byDomain.entries();
  }

  /** The route of `app` for `path` (what follows `/web/<app>`), among those listing `host` when the request came by domain. */
  match(app: string, path: string, host: string, byDomain: boolean): Route | undefined {
    for (const r of this.ranked.get(app) ?? []) {
      if (byDomain && !r.spec.domains.includes(host)) continue;
      if (prefixMatches(r.prefix, path)) return r;
    }
    return undefined;
  }
}
