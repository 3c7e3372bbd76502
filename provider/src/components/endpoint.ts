/**
 * Endpoint: an HTTP route to a function, served by the agent. Rendered as an Endpoint custom
 * resource; custom domains add an Ingress with TLS in front of the agent's Service. A webServer
 * endpoint renders nothing into the worker pods: its Function declares the same port as `webPort`
 * and renders WARMPOOL_WEB_PORT and the `web` container port itself (checked here), because a
 * DeploymentPatch on the Function's Deployment never settles into a no-op `pulumi up`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { endpointFunctionProblems } from "../checks";
import type { EndpointArgs } from "../generated/args";
import type { FunctionRef } from "../refs";
import { AGENT_NAME } from "../render/agent";
import { CRD_API_VERSION } from "../render/crds";
import type { SpecOutput } from "../spec-output";
import { PENDING_REF, assertNoProblems, validated } from "../spec";

/** An HTTP route to a function. */
export class Endpoint extends pulumi.ComponentResource {
  /** The validated spec as the agent sees it. */
  public readonly spec: pulumi.Output<SpecOutput>;
  /** Path on the agent's gateway that serves the route (`/web/<app>/<path>` for endpoints without a domain). */
  public readonly gatewayPath: pulumi.Output<string>;

  constructor(name: string, args: EndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Endpoint", name, {}, opts);
    const declared = (fn: string, app: string): object => ({ ...args, app, name, function: fn });
    const plain = validated("Endpoint", name, declared(PENDING_REF, PENDING_REF), this);

    const target = pulumi.output(args.function);
    this.spec = target.apply((fn: FunctionRef): SpecOutput => {
      const spec = validated("Endpoint", name, declared(fn.name, fn.app), this);
      // The Function renders the web server's env and container port; the Endpoint only checks they agree.
      assertNoProblems("Endpoint", name, endpointFunctionProblems(spec, fn), this);
      return { ...spec };
    });
    new k8s.apiextensions.CustomResource(
      `${name}-endpoint`,
      {
        apiVersion: CRD_API_VERSION,
        kind: "Endpoint",
        metadata: target.apply((fn: FunctionRef) => ({
          name,
          namespace: fn.namespace,
          labels: { "warmpool.dev/app": fn.app, "warmpool.dev/function": fn.name, "app.kubernetes.io/component": "endpoint" },
        })),
        spec: this.spec,
      },
      { parent: this },
    );

    const domains = plain.domains ?? [];
    if (domains.length > 0) {
      // The Ingress sits beside the agent's Service: an Ingress can only route to its own namespace.
      new k8s.networking.v1.Ingress(
        `${name}-ingress`,
        {
          metadata: target.apply((fn: FunctionRef) => ({
            name: `${fn.app}-${name}`,
            namespace: fn.runtimeNamespace,
            annotations: { "cert-manager.io/cluster-issuer": plain.tlsIssuer ?? "letsencrypt" },
            labels: { "warmpool.dev/app": fn.app, "warmpool.dev/endpoint": name },
          })),
          spec: target.apply((fn: FunctionRef) => ({
            tls: [{ hosts: domains, secretName: `${fn.app}-${name}-tls` }],
            rules: domains.map((host) => ({
              host,
              http: {
                paths: [{ path: plain.path ?? "/", pathType: "Prefix", backend: { service: { name: AGENT_NAME, port: { name: "http" } } } }],
              },
            })),
          })),
        },
        { parent: this },
      );
    }
    this.gatewayPath = target.apply((fn: FunctionRef) => `/web/${fn.app}${plain.path === "/" || plain.path === undefined ? "" : plain.path}`);
    this.registerOutputs({ spec: this.spec, gatewayPath: this.gatewayPath });
  }
}
