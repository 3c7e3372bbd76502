/**
 * The agent's Deployment: one process that serves the gateway, scales workers and keeps state.
 * Pulumi-free, so that it is tested as plain data.
 */
import { AGENT_ENV, AGENT_FLAGS, AGENT_METRICS_PORT, AGENT_PORT, AGENT_STATE_DIR, AGENT_TOKEN_DIR, AGENT_TOKEN_FILE, AGENT_TOKEN_KEY, type RuntimeSpec } from "@warmpool/schema";
import type * as k8s from "@pulumi/kubernetes";
import type { Labels } from "../labels";
import { AGENT_SERVICE_ACCOUNT } from "./rbac";

export const AGENT_NAME = "warmpool-agent";
export const TOKEN_SECRET = "warmpool-agent-token";
export const TOKEN_KEY = AGENT_TOKEN_KEY;
export const STATE_CLAIM = "warmpool-agent-state";
export const STATE_DIR = AGENT_STATE_DIR;
export const TOKEN_DIR = AGENT_TOKEN_DIR;

/**
 * Prometheus' annotation-based discovery scrapes without credentials, so the annotations point at the
 * agent's metrics listener (`--metrics-port`, GET /metrics only, no token), not at the gateway, whose
 * /metrics needs the API token like every other route. Without `metricsScrape` neither is rendered.
 */
export const SCRAPE_ANNOTATIONS: Labels = {
  "prometheus.io/scrape": "true",
  "prometheus.io/port": String(AGENT_METRICS_PORT),
  "prometheus.io/path": "/metrics",
};

export function agentDeploymentSpec(spec: RuntimeSpec, image: string, labels: Labels): k8s.types.input.apps.v1.DeploymentSpec {
  const state = spec.state ?? {};
  const postgres = state.kind === "postgres";
  const limits = spec.limits ?? {};
  const f = AGENT_FLAGS;
  const args = [
    "agent",
    f.backend,
    "kubernetes",
    f.host,
    "0.0.0.0",
    f.port,
    String(AGENT_PORT),
    f.stateDir,
    STATE_DIR,
    f.tokenFile,
    AGENT_TOKEN_FILE,
    f.maxPending,
    String(limits.maxPendingInputs ?? 2000),
    f.payloadLimit,
    String(limits.payloadLimit ?? 16),
    f.resultTtl,
    String(limits.resultTtl ?? 604800),
    f.logLevel,
    spec.logLevel ?? "info",
    ...(spec.metricsScrape === false ? [] : [f.metricsPort, String(AGENT_METRICS_PORT)]),
  ];
  const env: k8s.types.input.core.v1.EnvVar[] = [];
  if (postgres) {
    const secret = state.postgresUrlSecret!;
    env.push({ name: AGENT_ENV.databaseUrl, valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } });
  }
  // The token arrives as a read-only file, not an environment variable: nothing the agent starts can inherit it.
  const volumes: k8s.types.input.core.v1.Volume[] = [{ name: "token", secret: { secretName: TOKEN_SECRET, defaultMode: 0o400 } }];
  const mounts: k8s.types.input.core.v1.VolumeMount[] = [{ name: "token", mountPath: TOKEN_DIR, readOnly: true }];
  if (!postgres) {
    volumes.push({ name: "state", persistentVolumeClaim: { claimName: STATE_CLAIM } });
    mounts.push({ name: "state", mountPath: STATE_DIR });
  }
  return {
    // SQLite lives on a ReadWriteOnce volume: exactly one agent, replaced (not surged) on rollout.
    replicas: 1,
    strategy: { type: postgres ? "RollingUpdate" : "Recreate" },
    selector: { matchLabels: { "app.kubernetes.io/name": AGENT_NAME } },
    template: {
      metadata: { labels: { ...labels, "app.kubernetes.io/name": AGENT_NAME }, annotations: spec.metricsScrape === false ? {} : SCRAPE_ANNOTATIONS },
      spec: {
        serviceAccountName: AGENT_SERVICE_ACCOUNT,
        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "agent",
            image,
            args,
            ports: [{ name: "http", containerPort: AGENT_PORT, protocol: "TCP" }, ...(spec.metricsScrape === false ? [] : [{ name: "metrics", containerPort: AGENT_METRICS_PORT, protocol: "TCP" }])],
            env,
            resources: {
              requests: { cpu: `${Math.round((spec.cpu ?? 0.5) * 1000)}m`, memory: `${spec.memory ?? 512}Mi` },
              limits: { memory: `${spec.memory ?? 512}Mi` },
            },
            livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
            readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 2 },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            volumeMounts: mounts,
          },
        ],
        volumes,
      },
    },
  };
}
