/**
 * The worker Deployment of a function: the pod that the agent scales, derived from the validated
 * spec and the refs it points at. Pulumi-free, so that it is tested as plain data.
 */
import { AGENT_ACCESS_SECRET, WORKER_COMMANDS, WORKER_ENV, WORKER_PROTOCOL, parseGpu, type FunctionSpec } from "@warmpool/schema";
import type * as k8s from "@pulumi/kubernetes";
import { LABEL_GPU, LABEL_POOL, RESOURCE_GPU, TAINT_GPU, componentLabels, functionSelector } from "../labels";
import type { AppRef, PoolRef, VolumeRef } from "../refs";
import { WORKER_APP_DIR, WORKER_PORT } from "../version";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type DeploymentSpec = k8s.types.input.apps.v1.DeploymentSpec;

export interface WorkerInputs {
  spec: FunctionSpec;
  image: string;
  app: AppRef;
  pool?: PoolRef;
  volumes: { [mountPath: string]: VolumeRef };
}

/** Seconds beyond the per-attempt timeout that a draining pod gets to finish its last input and @exit hooks. */
export const DRAIN_MARGIN_SECONDS = 30;

export function workerDeploymentSpec(inputs: WorkerInputs): DeploymentSpec {
  const { spec, app } = inputs;
  const selector = functionSelector(spec.app, spec.name);
  return {
    replicas: spec.autoscaler?.minContainers ?? 0,
    selector: { matchLabels: selector },
    // Surge only: a rollout never takes a ready container away before its replacement is ready.
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
    template: {
      metadata: { labels: { ...componentLabels(app, "function", spec.name), ...selector } },
      spec: workerPodSpec(inputs),
    },
  };
}

export function workerPodSpec(inputs: WorkerInputs): PodSpec {
  const { spec } = inputs;
  const mounts = Object.entries(inputs.volumes);
  return {
    // Workers never talk to the Kubernetes API: no token in the pod.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // The pause container is PID 1, not the worker: the kernel drops a signal to PID 1 that has no
    // handler yet, so a Pod deleted as it started (the ReplicaSet replacing a Pod the agent deleted)
    // lost its SIGTERM, sent 2 ms after the container started and ~80 ms before the runtime installs
    // its handler, and ran until the grace period's SIGKILL (330 s on the test node). Not PID 1, the
    // worker ends on an early SIGTERM by default, and drains on any later one.
    shareProcessNamespace: true,
    terminationGracePeriodSeconds: (spec.timeout ?? 300) + DRAIN_MARGIN_SECONDS,
    securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
    nodeSelector: nodeSelector(spec, inputs.pool),
    affinity: gpuAffinity(spec),
    tolerations: tolerations(spec, inputs.pool),
    containers: [workerContainer(inputs)],
    volumes: mounts.map(([, volume], index) => ({
      name: `volume-${index}`,
      persistentVolumeClaim: { claimName: volume.claimName, readOnly: volume.readOnly },
    })),
  };
}

function workerContainer(inputs: WorkerInputs): Container {
  const { spec } = inputs;
  const startupTimeout = spec.startupTimeout ?? spec.timeout ?? 300;
  return {
    name: "worker",
    image: inputs.image,
    command: [...WORKER_COMMANDS[spec.runtime ?? "python"]],
    workingDir: WORKER_APP_DIR,
    ports: [
      { name: "worker", containerPort: WORKER_PORT, protocol: "TCP" },
      // A function behind a webServer endpoint serves HTTP itself; the agent proxies to this port.
      ...(spec.webPort === undefined ? [] : [{ name: "web", containerPort: spec.webPort, protocol: "TCP" }]),
    ],
    env: workerEnv(spec),
    // Secrets only by reference: their values never enter the Deployment or the stack state. The
    // agent's URL and the App's token first, so that a user Secret can never be overridden by it.
    envFrom: [...(inputs.app.agentAccess ? [AGENT_ACCESS_SECRET] : []), ...secretNames(inputs)].map((name) => ({ secretRef: { name } })),
    resources: resources(spec),
    // Startup covers image-specific model loading in @enter hooks, up to startupTimeout.
    startupProbe: { httpGet: { path: "/ready", port: "worker" }, periodSeconds: 1, failureThreshold: startupTimeout },
    // A worker that fails to start prints its traceback and exits: the kubelet keeps the end of that
    // output (≤ 80 lines, 2 KiB) in the container's termination message, where the agent reads it
    // from the Pod's status (it has no pods/log access) for the caller and `warmpool status`.
    terminationMessagePolicy: "FallbackToLogsOnError",
    readinessProbe: { httpGet: { path: "/ready", port: "worker" }, periodSeconds: 2, failureThreshold: 2 },
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ["ALL"] } },
    volumeMounts: Object.entries(inputs.volumes).map(([mountPath, volume], index) => ({
      name: `volume-${index}`,
      mountPath,
      readOnly: volume.readOnly,
    })),
  };
}

function workerEnv(spec: FunctionSpec): k8s.types.input.core.v1.EnvVar[] {
  const own = Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value }));
  const e = WORKER_ENV;
  return [
    { name: e.protocol, value: WORKER_PROTOCOL },
    { name: e.host, value: "0.0.0.0" },
    { name: e.port, value: String(WORKER_PORT) },
    { name: e.handler, value: spec.handler },
    { name: e.appDir, value: WORKER_APP_DIR },
    { name: e.maxInputs, value: String(spec.concurrency?.maxInputs ?? 1) },
    { name: e.batchSize, value: String(spec.batching?.maxBatchSize ?? 0) },
    { name: e.containerId, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: e.serialization, value: spec.serialization ?? "json" },
    // Set only for a web-server function: the worker starts the handler's server on this port.
    ...(spec.webPort === undefined ? [] : [{ name: e.webPort, value: String(spec.webPort) }]),
    ...own,
  ];
}

function secretNames(inputs: WorkerInputs): string[] {
  return [...new Set([...inputs.app.secrets, ...(inputs.spec.secrets ?? [])])];
}

function resources(spec: FunctionSpec): k8s.types.input.core.v1.ResourceRequirements {
  const requests: Record<string, string> = { cpu: `${Math.round((spec.cpu ?? 0.125) * 1000)}m`, memory: `${spec.memory ?? 128}Mi` };
  const limits: Record<string, string> = { memory: `${spec.memory ?? 128}Mi` };
  if (spec.ephemeralDisk !== undefined) {
    requests["ephemeral-storage"] = `${spec.ephemeralDisk}Mi`;
    limits["ephemeral-storage"] = `${spec.ephemeralDisk}Mi`;
  }
  if (spec.gpu !== undefined) {
    const count = String(parseGpu(spec.gpu).count);
    requests[RESOURCE_GPU] = count;
    limits[RESOURCE_GPU] = count;
  }
  return { requests, limits };
}

function gpuTypes(spec: FunctionSpec): string[] {
  if (spec.gpu === undefined) return [];
  return [spec.gpu, ...(spec.gpuFallbacks ?? [])].map((gpu) => parseGpu(gpu).type);
}

function nodeSelector(spec: FunctionSpec, pool: PoolRef | undefined): Record<string, string> | undefined {
  const selector: Record<string, string> = { ...(pool?.nodeSelector ?? {}) };
  const types = gpuTypes(spec);
  // One concrete type selects by label; fallbacks are expressed as node affinity instead.
  if (types.length === 1 && types[0] !== "any" && pool?.kind !== "static") selector[LABEL_GPU] = types[0]!;
  return Object.keys(selector).length > 0 ? selector : undefined;
}

/** GPU fallbacks: any of the types may run the pod, the earlier ones preferred. */
function gpuAffinity(spec: FunctionSpec): k8s.types.input.core.v1.Affinity | undefined {
  const types = gpuTypes(spec);
  if (types.length < 2 || types.includes("any")) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: LABEL_GPU, operator: "In", values: types }] }],
      },
      preferredDuringSchedulingIgnoredDuringExecution: types.map((type, index) => ({
        weight: 100 - index * Math.floor(99 / types.length),
        preference: { matchExpressions: [{ key: LABEL_GPU, operator: "In", values: [type] }] },
      })),
    },
  };
}

function tolerations(spec: FunctionSpec, pool: PoolRef | undefined): k8s.types.input.core.v1.Toleration[] | undefined {
  const list: k8s.types.input.core.v1.Toleration[] = [];
  if (spec.gpu !== undefined) list.push({ key: TAINT_GPU, operator: "Exists", effect: "NoSchedule" });
  if (pool?.tainted) list.push({ key: LABEL_POOL, operator: "Equal", value: pool.name, effect: "NoSchedule" });
  return list.length > 0 ? list : undefined;
}
