/**
 * Apps and functions: list, describe (spec, containers and their state, queue depth, in flight, the
 * autoscaler's recent decisions), deploy a spec (`PUT /v1/apps/{app}`), and read container logs.
 */
import * as path from "node:path";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AgentError } from "../errors";
import { validateApp } from "../spec/load";
import { describeRoute } from "../routes/describe";
import type { GatewayDeps } from "./deps";

type FnRequest = FastifyRequest<{ Params: { app: string; fn: string }; Querystring: { tail?: string } }>;
type AppRequest = FastifyRequest<{ Params: { app: string }; Querystring: { dir?: string }; Body: unknown }>;

export function registerApps(app: FastifyInstance, deps: GatewayDeps): void {
  const { registry, deployer, schedules, state } = deps;
  app.get("/v1/apps", async function listApps() {
    return {
      apps: [...registry.apps()].map((a) => ({
        name: a.name,
        environment: a.loaded.app.environment,
        functions: [...a.functions.values()].map((fn) => ({
          name: fn.config.name,
          runtime: fn.config.runtime,
          handler: fn.config.handler,
          containers: fn.pool.live(),
          ...fn.status(),
        })),
        endpoints: registry.routes.routes(a.name).map((r) => describeRoute(state.url, r)),
      })),
    };
  });

  // Scoped: the Python client's Cls reads its App's functions from here, from inside a container too.
  app.get("/v1/apps/:app", { config: { scoped: "app" } }, async function getApp(req: FastifyRequest<{ Params: { app: string } }>) {
    const deployed = registry.app(req.params.app);
    if (deployed === undefined) throw new AgentError("WP_ERR_APP_NOT_FOUND", [JSON.stringify(req.params.app)]);
    return { name: deployed.name, spec: deployed.loaded.app, appDir: deployed.loaded.appDir, functions: [...deployed.functions.keys()], schedules: schedules.list(deployed.name) };
  });

  app.get("/v1/apps/:app/functions/:fn", async function getFunction(req: FnRequest) {
    const fn = registry.lookup(req.params.app, req.params.fn);
    return {
      app: fn.config.app,
      name: fn.config.name,
      spec: fn.config.spec,
      status: fn.status(),
      containers: fn.containers(),
      events: fn.scaling.events,
      schedules: schedules.list(fn.config.app).filter((s) => s.function === fn.config.name),
      endpoints: registry.routes
        .routes(fn.config.app)
        .filter((r) => r.spec.function === fn.config.name)
        .map((r) => describeRoute(state.url, r)),
    };
  });

  app.get("/v1/apps/:app/functions/:fn/logs", async function getLogs(req: FnRequest) {
    const fn = registry.lookup(req.params.app, req.params.fn);
    const tail = req.query.tail === undefined ? 200 : Number(req.query.tail);
    if (!Number.isInteger(tail) || tail < 1) throw new AgentError("WP_ERR_BAD_REQUEST", [`tail = ${JSON.stringify(req.query.tail)}: must be a positive integer`]);
    return { containers: await fn.pool.logs(tail) };
  });

  app.put("/v1/apps/:app", async function putApp(req: AppRequest) {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new AgentError("WP_ERR_BAD_REQUEST", ["body must be an App spec object"]);
    const doc = { ...(body as Record<string, unknown>) };
    doc.name ??= req.params.app;
    if (doc.name !== req.params.app) throw new AgentError("WP_ERR_BAD_REQUEST", [`body.name ${JSON.stringify(doc.name)} differs from the app in the path ${JSON.stringify(req.params.app)}`]);
    const dir = path.resolve(req.query.dir ?? process.cwd());
    const loaded = validateApp(doc, `app "${req.params.app}"`, dir);
    const deployed = deployer.deploy(loaded, "api");
    return { app: deployed.name, functions: [...deployed.functions.keys()] };
  });
}
