/**
 * The dashboard: `GET /dashboard` is one static page (dashboard/page.ts) with uPlot for its charts,
 * both public because they hold no data; the page reads everything from `GET /v1/dashboard` with the
 * API token, which it takes from the URL's fragment (`/dashboard#token=…`, never sent to a server) or a
 * form, and keeps in the tab's sessionStorage. No cookie, so no request forgery can reach the API.
 *
 * `/v1/dashboard` is one snapshot: apps, functions (status, containers, the last autoscaler decisions
 * with their reasons, the last hour in 10 s buckets from metrics/series.ts) and the last failed calls.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Registry } from "../apps/registry";
import type { Clock } from "../clock";
import type { Series } from "../metrics/series";
import { PAGE } from "./page";

/** uPlot's browser build: from node_modules, or next to the single-file bundle in the agent image. */
function asset(file: string): Buffer {
  const candidates: string[] = [];
  try {
    candidates.push(path.join(path.dirname(require.resolve("uplot/package.json")), "dist", file));
  } catch {
    // bundled: no node_modules
  }
  candidates.push(path.join(path.dirname(process.argv[1] ?? "."), "assets", file));
  for (const c of candidates) if (fs.existsSync(c)) return fs.readFileSync(c);
  throw new Error(`dashboard asset ${file} not found (looked in ${candidates.join(", ")})`);
}

/** What the dashboard reads: the deployed functions, their series, the time and the agent's URL. */
export interface DashboardDeps {
  registry: Registry;
  series: Series;
  clock: Clock;
  state: { readonly url: string };
}

export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): void {
  const script = asset("uPlot.iife.min.js");
  const style = asset("uPlot.min.css");
  const headers = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    "x-frame-options": "DENY",
  };
  app.get("/dashboard", { config: { public: true } }, async (_req, reply) => reply.headers(headers).type("text/html; charset=utf-8").send(PAGE));
  app.get("/dashboard/uPlot.min.js", { config: { public: true } }, async (_req, reply) => reply.type("text/javascript").send(script));
  app.get("/dashboard/uPlot.min.css", { config: { public: true } }, async (_req, reply) => reply.type("text/css").send(style));

  app.get("/v1/dashboard", async function dashboard() {
    const now = deps.clock.now();
    return {
      now: new Date(now).toISOString(),
      url: deps.state.url,
      apps: [...deps.registry.apps()].map((a) => ({
        name: a.name,
        functions: [...a.functions.values()].map((fn) => ({
          name: fn.config.name,
          key: fn.key,
          runtime: fn.config.runtime,
          handler: fn.config.handler,
          autoscaler: fn.scale,
          status: fn.status(),
          containers: fn.containers(),
          decisions: fn.scaling.events.slice(-20),
          series: deps.series.points(fn.key, now),
        })),
      })),
      failures: deps.series.recentFailures(),
    };
  });
}
