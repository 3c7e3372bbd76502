/**
 * Apps and functions: list, describe (spec, containers and their state, queue depth, in flight, the
 * autoscaler's recent decisions), deploy a spec (`PUT /v1/apps/{app}`, JSON or YAML) and stop an app
 * (`DELETE /v1/apps/{app}`). Container output is in logs.ts.
 */
import * as path from "node:path";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parse as parseYaml } from "yaml";
import { AgentError } from "../errors";
import { validateApp } from "../spec/load";
import { describeRoute } from "../routes/describe";
import { MAX_JSON_DEPTH, tooDeep } from "./body";
import type { GatewayDeps } from "./deps";

type FnRequest = FastifyRequest<{ Params: { app: string; fn: string } }>;
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

  // YAML bodies only here: an App spec as the file has it (`warmpool deploy app.yaml`).
  void app.register(async (scope) => {
    scope.addContentTypeParser(YAML_TYPES, { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, parseYamlBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    scope.put("/v1/apps/:app", putApp);
  });

  app.delete("/v1/apps/:app", async function deleteApp(req: FastifyRequest<{ Params: { app: string } }>) {
    if (!deployer.stop(req.params.app)) throw new AgentError("WP_ERR_APP_NOT_FOUND", [JSON.stringify(req.params.app)]);
    return { app: req.params.app, stopped: true };
  });

  async function putApp(req: AppRequest) {
    const body = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new AgentError("WP_ERR_BAD_REQUEST", ["body must be an App spec object"]);
    const doc = { ...(body as Record<string, unknown>) };
    doc.name ??= req.params.app;
    if (doc.name !== req.params.app) throw new AgentError("WP_ERR_BAD_REQUEST", [`body.name ${JSON.stringify(doc.name)} differs from the app in the path ${JSON.stringify(req.params.app)}`]);
    const dir = path.resolve(req.query.dir ?? process.cwd());
    const loaded = validateApp(doc, `app "${req.params.app}"`, dir);
    const deployed = deployer.deploy(loaded, "api");
    return { app: deployed.name, functions: [...deployed.functions.keys()] };
  }
}

const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml"];

/**
 * A YAML body: one document, no custom tags, at most 100 aliases (the yaml package's default, which
 * stops "billion laughs"), nested at most MAX_JSON_DEPTH deep like a JSON body.
 */
function parseYamlBody(text: string): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true, customTags: [], schema: "core" });
  } catch (err) {
    throw new AgentError("WP_ERR_BAD_REQUEST", [`the request body is not valid YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  if (depth(doc, 0) > MAX_JSON_DEPTH) throw tooDeep("the request body");
  return doc;
}

function depth(v: unknown, d: number): number {
  if (v === null || typeof v !== "object" || d > MAX_JSON_DEPTH) return d;
  let max = d + 1;
  for (const x of Object.values(v)) max = Math.max(max, depth(x, d + 1));
  return max;
}
