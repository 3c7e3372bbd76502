/**
 * Runtime: the in-cluster half of warmpool. Installs the CRDs and runs the agent with its
 * ServiceAccount, least-privilege RBAC, state store and API token.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { crdManifests } from "@warmpool/schema";
import type { RuntimeArgs } from "../generated/args";
import type { Labels } from "../labels";
import { AGENT_NAME, SCRAPE_ANNOTATIONS, STATE_CLAIM, TOKEN_KEY, TOKEN_SECRET, agentDeploymentSpec } from "../render/agent";
import { AGENT_CLUSTER_RULES, AGENT_RUNTIME_RULES, AGENT_SERVICE_ACCOUNT } from "../render/rbac";
import { validated } from "../spec";
import { AGENT_PORT, DEFAULT_AGENT_IMAGE } from "../version";

/** The warmpool runtime: CRDs, the agent Deployment and Service, RBAC, state store and API token. */
export class Runtime extends pulumi.ComponentResource {
  /** Namespace of the agent. */
  public readonly namespace: pulumi.Output<string>;
  /** In-cluster URL of the agent's gateway. */
  public readonly url: pulumi.Output<string>;
  /** Bearer token of the agent's API (a secret output). */
  public readonly apiToken: pulumi.Output<string>;

  constructor(name: string, args: RuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:Runtime", name, {}, opts);
    const spec = validated("Runtime", name, { ...args, image: typeof args.image === "string" ? args.image : undefined }, this);
    const labels: Labels = { "app.kubernetes.io/part-of": "warmpool", "app.kubernetes.io/managed-by": "warmpool", "app.kubernetes.io/instance": name };
    const child = { parent: this };

    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: spec.namespace, labels } }, child);
    const ns = namespace.metadata.name;

    const crds =
      spec.installCrds === false
        ? []
        : crdManifests().map(
            (crd) =>
              new k8s.apiextensions.v1.CustomResourceDefinition(`${name}-${(crd.metadata as { name: string }).name}`, crd as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs, child),
          );

    const account = new k8s.core.v1.ServiceAccount(`${name}-agent`, { metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: ns, labels } }, child);
    const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-agent`, { metadata: { name: `warmpool-agent-${spec.namespace}`, labels }, rules: AGENT_CLUSTER_RULES }, child);
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-agent`,
      {
        metadata: { name: `warmpool-agent-${spec.namespace}`, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
      },
      child,
    );
    const role = new k8s.rbac.v1.Role(`${name}-agent`, { metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: ns, labels }, rules: AGENT_RUNTIME_RULES }, child);
    new k8s.rbac.v1.RoleBinding(
      `${name}-agent`,
      {
        metadata: { name: AGENT_SERVICE_ACCOUNT, namespace: ns, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
        subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: ns }],
      },
      child,
    );

    const token = new random.RandomPassword(`${name}-token`, { length: 48, special: false }, child);
    new k8s.core.v1.Secret(
      `${name}-token`,
      {
        metadata: { name: TOKEN_SECRET, namespace: ns, labels },
        type: "Opaque",
        stringData: { [TOKEN_KEY]: token.result },
      },
      child,
    );

    const state = spec.state ?? {};
    if (state.kind !== "postgres") {
      new k8s.core.v1.PersistentVolumeClaim(
        `${name}-state`,
        {
          metadata: { name: STATE_CLAIM, namespace: ns, labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: state.storageClass,
            resources: { requests: { storage: `${state.storageSize ?? 10}Gi` } },
          },
        },
        child,
      );
    }

    const image = pulumi.output(args.image ?? DEFAULT_AGENT_IMAGE);
    new k8s.apps.v1.Deployment(
      `${name}-agent`,
      {
        metadata: { name: AGENT_NAME, namespace: ns, labels },
        spec: image.apply((img) => agentDeploymentSpec(spec, img, labels)),
      },
      { parent: this, dependsOn: crds },
    );
    const service = new k8s.core.v1.Service(
      `${name}-agent`,
      {
        metadata: { name: AGENT_NAME, namespace: ns, labels, annotations: spec.metricsScrape === false ? {} : SCRAPE_ANNOTATIONS },
        spec: {
          type: "ClusterIP",
          selector: { "app.kubernetes.io/name": AGENT_NAME },
          ports: [{ name: "http", port: 80, targetPort: AGENT_PORT, protocol: "TCP" }],
        },
      },
      child,
    );

    this.namespace = ns;
    this.url = pulumi.interpolate`http://${service.metadata.name}.${ns}.svc.cluster.local`;
    this.apiToken = pulumi.secret(token.result);
    this.registerOutputs({ namespace: this.namespace, url: this.url, apiToken: this.apiToken });
  }
}
