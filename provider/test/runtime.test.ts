import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "../src";
import { AGENT_APP_RULES, AGENT_CLUSTER_RULES, AGENT_RUNTIME_RULES } from "../src/render/rbac";
import { render, valueOf } from "./render";

describe("Runtime", () => {
  it("installs the CRDs with status and printer columns, and runs the agent on SQLite by default", async () => {
    let runtime!: warmpool.Runtime;
    const out = await render((opts) => {
      runtime = new warmpool.Runtime("warmpool", {}, opts);
    });
    expect(out.one("kubernetes:core/v1:Namespace").inputs.metadata.name).toBe("warmpool-system");

    const crds = out.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").map((c) => c.inputs);
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(["endpoints.warmpool.dev", "functions.warmpool.dev", "schedules.warmpool.dev"]);
    for (const crd of crds) {
      const version = crd.spec.versions[0];
      expect(version.subresources).toEqual({ status: {} });
      expect(version.additionalPrinterColumns.length).toBeGreaterThan(3);
      expect(version.schema.openAPIV3Schema.properties.spec.type).toBe("object");
    }

    const deployment = out.one("kubernetes:apps/v1:Deployment").inputs;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe("Recreate");
    const pod = deployment.spec.template.spec;
    // Prometheus scrapes the agent's metrics port, where /metrics needs no token; the gateway's does.
    expect(deployment.spec.template.metadata.annotations).toEqual({ "prometheus.io/scrape": "true", "prometheus.io/port": "9090", "prometheus.io/path": "/metrics" });
    expect(pod.serviceAccountName).toBe("warmpool-agent");
    const agent = pod.containers[0];
    expect(agent.image).toMatch(/^ghcr\.io\/warmpool\/agent:\d+\.\d+\.\d+$/);
    expect(agent.livenessProbe.httpGet.path).toBe("/healthz");
    expect(agent.readinessProbe.httpGet.path).toBe("/readyz");
    expect(agent.args).toEqual(expect.arrayContaining(["agent", "--backend", "kubernetes", "--token-file", "/var/run/warmpool/token"]));
    expect(agent.args.slice(agent.args.indexOf("--max-pending"), agent.args.indexOf("--max-pending") + 2)).toEqual(["--max-pending", "2000"]);
    expect(agent.args.slice(agent.args.indexOf("--metrics-port"), agent.args.indexOf("--metrics-port") + 2)).toEqual(["--metrics-port", "9090"]);
    expect(agent.ports).toContainEqual({ name: "metrics", containerPort: 9090, protocol: "TCP" });
    expect(agent.env.map((e: any) => e.name)).not.toContain("WARMPOOL_TOKEN");
    expect(agent.volumeMounts).toContainEqual({ name: "token", mountPath: "/var/run/warmpool", readOnly: true });
    expect(pod.volumes).toContainEqual({ name: "token", secret: { secretName: "warmpool-agent-token", defaultMode: 0o400 } });
    expect(agent.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.volumes).toContainEqual({ name: "state", persistentVolumeClaim: { claimName: "warmpool-agent-state" } });
    expect(out.one("kubernetes:core/v1:PersistentVolumeClaim").inputs.spec.resources.requests.storage).toBe("10Gi");
    expect(out.one("kubernetes:core/v1:Service").inputs.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080 });

    // The token is generated, stored only in a Secret, and exported only as a secret output.
    expect(out.one("random:index/randomPassword:RandomPassword").inputs).toMatchObject({ length: 48, special: false });
    const tokenSecret = out.construction("kubernetes:core/v1:Secret");
    expect(await pulumi.isSecret(pulumi.output(tokenSecret.props.stringData))).toBe(true);
    expect(await pulumi.isSecret(runtime.apiToken)).toBe(true);
    expect(await valueOf(runtime.url)).toBe("http://warmpool-agent.warmpool-system.svc.cluster.local");
  });

  it("grants the agent least privilege: read specs cluster-wide, leases at home, no Secrets anywhere", async () => {
    const out = await render((opts) => new warmpool.Runtime("warmpool", {}, opts));
    expect(out.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs.rules).toEqual(AGENT_CLUSTER_RULES);
    expect(out.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs.rules).toEqual(AGENT_RUNTIME_RULES);
    const binding = out.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").inputs;
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "warmpool-agent", namespace: "warmpool-system" }]);
    const everyRule = [...AGENT_CLUSTER_RULES, ...AGENT_APP_RULES, ...AGENT_RUNTIME_RULES];
    expect(everyRule.flatMap((r) => r.resources as string[])).not.toContain("secrets");
    expect(everyRule.flatMap((r) => r.verbs as string[])).not.toContain("*");
    // The one delete: the idle Pod a scale-down chose, in App namespaces; nothing else is ever deleted.
    expect(everyRule.filter((r) => (r.verbs as string[]).includes("delete"))).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "patch", "delete"] }]);
    expect(AGENT_APP_RULES.some((r) => (r.verbs as string[]).includes("delete"))).toBe(true);
    // Cluster-wide access is read-only.
    expect(AGENT_CLUSTER_RULES.flatMap((r) => r.verbs as string[]).sort()).toEqual(["get", "list", "watch"]);
  });

  it("reads a PostgreSQL URL from a Secret instead of keeping SQLite on a volume", async () => {
    const out = await render(
      (opts) =>
        new warmpool.Runtime(
          "warmpool",
          {
            namespace: "gpu-platform",
            installCrds: false,
            state: { kind: "postgres", postgresUrlSecret: { name: "pg", key: "url" } },
            limits: { maxPendingInputs: 5000 },
            image: "registry.example.com/warmpool/agent@sha256:def",
          },
          opts,
        ),
    );
    expect(out.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")).toEqual([]);
    expect(out.ofType("kubernetes:core/v1:PersistentVolumeClaim")).toEqual([]);
    const deployment = out.one("kubernetes:apps/v1:Deployment").inputs;
    const agent = deployment.spec.template.spec.containers[0];
    expect(agent.image).toBe("registry.example.com/warmpool/agent@sha256:def");
    expect(agent.env).toContainEqual({ name: "WARMPOOL_DATABASE_URL", valueFrom: { secretKeyRef: { name: "pg", key: "url" } } });
    expect(agent.args.slice(agent.args.indexOf("--max-pending"), agent.args.indexOf("--max-pending") + 2)).toEqual(["--max-pending", "5000"]);
    expect(deployment.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(["token"]);
    expect(out.one("kubernetes:core/v1:Namespace").inputs.metadata.name).toBe("gpu-platform");
  });
});

describe("App", () => {
  it("makes a namespace per app and environment with common labels, and lets the agent write only there", async () => {
    let app!: warmpool.App;
    const out = await render((opts) => {
      app = new warmpool.App("search", { environment: "staging", labels: { team: "ml" }, runtimeNamespace: "gpu-platform" }, opts);
    });
    const namespace = out.one("kubernetes:core/v1:Namespace").inputs.metadata;
    expect(namespace.name).toBe("search-staging");
    expect(namespace.labels).toEqual({
      team: "ml",
      "app.kubernetes.io/part-of": "search",
      "app.kubernetes.io/instance": "search-staging",
      "app.kubernetes.io/managed-by": "warmpool",
      "warmpool.dev/app": "search",
      "warmpool.dev/environment": "staging",
    });
    expect(out.one("kubernetes:rbac.authorization.k8s.io/v1:Role").inputs).toMatchObject({ metadata: { namespace: "search-staging" }, rules: AGENT_APP_RULES });
    expect(out.one("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").inputs.subjects).toEqual([{ kind: "ServiceAccount", name: "warmpool-agent", namespace: "gpu-platform" }]);
    expect(await valueOf(app.ref)).toMatchObject({ name: "search", environment: "staging", namespace: "search-staging", runtimeNamespace: "gpu-platform", secrets: [] });
  });
});
