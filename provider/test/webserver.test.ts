/**
 * Web-server functions: the Function that declares `webPort` renders WARMPOOL_WEB_PORT and the `web`
 * container port into its worker pods; a webServer Endpoint renders only its route and insists that
 * its function declares the same port. Function endpoints and plain functions render neither.
 */
import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "../src";
import type { FunctionRef } from "../src";
import { endpointFunctionProblems } from "../src/checks";
import { render, valueOf } from "./render";

const IMAGE = "registry.example.com/chat:1";

function worker(out: Awaited<ReturnType<typeof render>>, name: string): any {
  return out.one("kubernetes:apps/v1:Deployment", `${name}-worker`).inputs.spec.template.spec.containers[0];
}

describe("web-server functions", () => {
  it("a function with webPort starts its web server on that port and declares it as container port web", async () => {
    let ui!: warmpool.Function;
    let endpoint!: warmpool.Endpoint;
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      ui = new warmpool.Function("ui", { app: app.ref, handler: "chat.ui:serve", webPort: 8080 }, opts);
      endpoint = new warmpool.Endpoint("chat-ui", { function: ui.ref, kind: "webServer", port: 8080, path: "/ui" }, opts);
    });

    const container = worker(out, "ui");
    expect(container.env).toContainEqual({ name: "WARMPOOL_WEB_PORT", value: "8080" });
    expect(container.ports).toEqual([
      { name: "worker", containerPort: 8000, protocol: "TCP" },
      { name: "web", containerPort: 8080, protocol: "TCP" },
    ]);
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Function").inputs.spec.webPort).toBe(8080);
    expect(await valueOf(ui.ref)).toEqual({ app: "chat", name: "ui", namespace: "chat-dev", runtimeNamespace: "warmpool-system", webPort: 8080 });

    // The Endpoint renders its route only: nothing that touches the Function's Deployment.
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Endpoint").inputs.spec).toMatchObject({ function: "ui", kind: "webServer", port: 8080, path: "/ui" });
    expect(out.ofType("kubernetes:apps/v1:DeploymentPatch")).toEqual([]);
    expect(out.ofType("kubernetes:apps/v1:Deployment")).toHaveLength(1);
    expect(await valueOf(endpoint.gatewayPath)).toBe("/web/chat/ui");
  });

  it("a function behind a function endpoint, and one without endpoints, get neither", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      const llm = new warmpool.Function("llm", { app: app.ref, handler: "chat.server:generate" }, opts);
      new warmpool.Function("reindex", { app: app.ref, handler: "chat.jobs:reindex" }, opts);
      new warmpool.Endpoint("chat-api", { function: llm.ref, path: "/v1/chat" }, opts);
    });
    for (const name of ["llm", "reindex"]) {
      const container = worker(out, name);
      expect(container.env.map((e: any) => e.name)).not.toContain("WARMPOOL_WEB_PORT");
      expect(container.ports).toEqual([{ name: "worker", containerPort: 8000, protocol: "TCP" }]);
    }
    expect(out.ofType("kubernetes:apps/v1:DeploymentPatch")).toEqual([]);
  });

  it("a function endpoint of a class renders the method that serves it; a webServer endpoint may not name one", async () => {
    const out = await render((opts) => {
      const app = new warmpool.App("chat", { image: IMAGE }, opts);
      const model = new warmpool.Function("model", { app: app.ref, handler: "chat.model:Model" }, opts);
      new warmpool.Endpoint("chat-api", { function: model.ref, method: "web", path: "/v1/chat" }, opts);
    });
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Endpoint").inputs.spec).toMatchObject({ function: "model", kind: "function", method: "web", path: "/v1/chat" });
    await expect(
      render((opts) => {
        const app = new warmpool.App("chat", { image: IMAGE }, opts);
        const ui = new warmpool.Function("ui", { app: app.ref, handler: "chat.ui:Ui", webPort: 8080 }, opts);
        new warmpool.Endpoint("chat-ui", { function: ui.ref, kind: "webServer", port: 8080, method: "serve" }, opts);
      }),
    ).rejects.toThrow('method = "serve": is only allowed when kind is function');
  });

  it("a webPort on the worker's own port fails construction", () => {
    const app = { name: "chat", environment: "dev", namespace: "chat-dev", runtimeNamespace: "warmpool-system", secrets: [], labels: {} };
    const build = () => new warmpool.Function("ui", { app, image: IMAGE, handler: "chat.ui:serve", webPort: 8000 });
    expect(build).toThrow(pulumi.ResourceError);
    expect(build).toThrow('warmpool:index:Function "ui" has 1 invalid field:\n  - webPort = 8000: must not be 8000: the worker itself listens there');
  });
});

describe("webServer endpoint and its function's webPort", () => {
  const ref = (webPort?: number): FunctionRef => ({ app: "chat", name: "ui", namespace: "chat-dev", runtimeNamespace: "warmpool-system", ...(webPort === undefined ? {} : { webPort }) });
  const spec = (kind: "function" | "webServer", port?: number) => ({ app: "chat", name: "chat-ui", function: "ui", kind, port });

  it("agree: no problem", () => {
    expect(endpointFunctionProblems(spec("webServer", 8080), ref(8080))).toEqual([]);
  });

  it("a function endpoint does not care whether its function serves HTTP", () => {
    expect(endpointFunctionProblems(spec("function"), ref())).toEqual([]);
    expect(endpointFunctionProblems(spec("function"), ref(8080))).toEqual([]);
  });

  it("the function declares no webPort", () => {
    expect(endpointFunctionProblems(spec("webServer", 8080), ref())).toEqual([
      {
        path: "port",
        value: 8080,
        message: 'needs Function "ui" to serve HTTP on it, but the function declares no webPort: set webPort: 8080 on Function "ui"',
      },
    ]);
  });

  it("the function declares another webPort", () => {
    expect(endpointFunctionProblems(spec("webServer", 8080), ref(9000))).toEqual([
      {
        path: "port",
        value: 8080,
        message: 'differs from the webPort of Function "ui" (9000): set webPort: 8080 on Function "ui", or use port 9000 here',
      },
    ]);
  });
});
