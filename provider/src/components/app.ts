/**
 * App: a namespace per app and environment, the labels its objects share, the defaults its
 * functions inherit, the agent's write access to that namespace, and (given the Runtime's `apiToken`)
 * the agent's URL and the App's own token for its pods.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AGENT_ACCESS_SECRET } from "@warmpool/schema";
import type { AppArgs } from "../generated/args";
import { appLabels } from "../labels";
import type { AppRef } from "../refs";
import { agentAccessData, defaultAgentUrl } from "../render/agent-access";
import { AGENT_APP_RULES, AGENT_SERVICE_ACCOUNT } from "../render/rbac";
import { validated } from "../spec";

/** A group of functions deployed together into one namespace per environment. */
export class App extends pulumi.ComponentResource {
  /** What Functions, Volumes, Secrets, Schedules and Endpoints of this App point at. */
  public readonly ref: pulumi.Output<AppRef>;
  /** Namespace of the App's objects: `<name>-<environment>`. */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:App", name, {}, opts);
    const spec = validated(
      "App",
      name,
      {
        name,
        environment: args.environment,
        image: typeof args.image === "string" ? args.image : undefined,
        secrets: args.secrets,
        labels: args.labels,
        runtimeNamespace: typeof args.runtimeNamespace === "string" ? args.runtimeNamespace : undefined,
        agentUrl: typeof args.agentUrl === "string" ? args.agentUrl : undefined,
      },
      this,
    );
    const environment = spec.environment ?? "dev";
    const namespaceName = `${name}-${environment}`;
    const labels = appLabels(name, environment, spec.labels ?? {});
    const runtimeNamespace = pulumi.output(args.runtimeNamespace ?? "warmpool-system");

    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: namespaceName, labels } }, { parent: this });
    const role = new k8s.rbac.v1.Role(
      `${name}-agent`,
      {
        metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: namespace.metadata.name, labels },
        rules: AGENT_APP_RULES,
      },
      { parent: this },
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-agent`,
      {
        metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: namespace.metadata.name, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: AGENT_SERVICE_ACCOUNT, namespace: runtimeNamespace }],
      },
      { parent: this },
    );

    const agentAccess = args.apiToken !== undefined;
    if (agentAccess) {
      // The App's token, not the admin token: code in its pods can call this App's functions and nothing
      // else. Derived from the Runtime's token (schema/src/app-token.ts), so the agent accepts it as is.
      const agentUrl = args.agentUrl ?? runtimeNamespace.apply(defaultAgentUrl);
      new k8s.core.v1.Secret(
        `${name}-agent-access`,
        {
          metadata: { name: AGENT_ACCESS_SECRET, namespace: namespace.metadata.name, labels },
          type: "Opaque",
          stringData: pulumi.secret(pulumi.all([agentUrl, args.apiToken as pulumi.Input<string>]).apply(([url, token]) => agentAccessData(url, token, name))),
        },
        { parent: this },
      );
    }

    this.namespace = namespace.metadata.name;
    this.ref = pulumi.all([this.namespace, runtimeNamespace, args.image]).apply(([ns, runtimeNs, image]) => ({
      name,
      environment,
      namespace: ns,
      runtimeNamespace: runtimeNs,
      image,
      secrets: spec.secrets ?? [],
      labels,
      agentAccess,
    }));
    this.registerOutputs({ ref: this.ref, namespace: this.namespace });
  }
}
