/**
 * The agent's Deployment: one process that serves the gateway, scales workers and keeps state.
 * Pulumi-free, so that it is tested as plain data.
 */
import type { RuntimeSpec } from "@warmpool/schema";
import type * as k8s from "@pulumi/kubernetes";
import type { Labels } from "../labels";
import { AGENT_PORT } from "../version";
import { AGENT_SERVICE_ACCOUNT } from "./rbac";

export const AGENT_NAME = "warmpool-agent";
export const TOKEN_SECRET = "warmpool-agent-token";
export const TOKEN_KEY = "token";
export const STATE_CLAIM = "warmpool-agent-state";
export const STATE_DIR = "/var/lib/warmpool";

export const SCRAPE_ANNOTATIONS: Labels = {
  "prometheus.io/scrape": "true",
  "prometheus.io/port": String(AGENT_PORT),
  "prometheus.io/path": "/metrics",
};

export function agentDeploymentSpec(spec: RuntimeSpec, image: string, labels: Labels): k8s.types.input.apps.v1.DeploymentSpec {
  const state = spec.state ?? {};
  const postgres = state.kind === "postgres";
  const limits = spec.limits ?? {};
  const env: k8s.types.input.core.v1.EnvVar[] = [
    { name: "WARMPOOL_TOKEN", valueFrom: { secretKeyRef: { name: TOKEN_SECRET, key: TOKEN_KEY } } },
    { name: "WARMPOOL_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "WARMPOOL_LOG_LEVEL", value: spec.logLevel ?? "info" },
    { name: "WARMPOOL_MAX_PENDING_INPUTS", value: String(limits.maxPendingInputs ?? 2000) },
    { name: "WARMPOOL_PAYLOAD_LIMIT_MIB", value: String(limits.payloadLimit ?? 16) },
    { name: "WARMPOOL_RESULT_TTL", value: String(limits.resultTtl ?? 604800) },
  ];
  if (postgres) {
    const secret = state.postgresUrlSecret!;
    env.push({ name: "WARMPOOL_DATABASE_URL", valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } });
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
            args: ["agent", "--backend", "kubernetes", "--listen", `0.0.0.0:${AGENT_PORT}`, "--state-dir", STATE_DIR],
            ports: [{ name: "http", containerPort: AGENT_PORT, protocol: "TCP" }],
            env,
            resources: {
              requests: { cpu: `${Math.round((spec.cpu ?? 0.5) * 1000)}m`, memory: `${spec.memory ?? 512}Mi` },
              limits: { memory: `${spec.memory ?? 512}Mi` },
            },
            livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 10 },
            readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 2 },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            volumeMounts: postgres ? [] : [{ name: "state", mountPath: STATE_DIR }],
          },
        ],
        volumes: postgres ? [] : [{ name: "state", persistentVolumeClaim: { claimName: STATE_CLAIM } }],
      },
    },
  };
}
