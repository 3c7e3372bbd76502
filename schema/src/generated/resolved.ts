// Generated from schema/specs by `npm run generate`. DO NOT EDIT.
import type { AppSpec, EndpointSpec, FunctionSpec, GpuPoolSpec, RuntimeSpec, ScheduleSpec, SecretSpec, VolumeSpec } from "./specs";

/** `state` of ResolvedRuntimeSpec. */
export interface ResolvedRuntimeSpecState extends NonNullable<RuntimeSpec["state"]> {
  kind: NonNullable<NonNullable<RuntimeSpec["state"]>["kind"]>;
  storageSize: NonNullable<NonNullable<RuntimeSpec["state"]>["storageSize"]>;
}

/** `limits` of ResolvedRuntimeSpec. */
export interface ResolvedRuntimeSpecLimits extends NonNullable<RuntimeSpec["limits"]> {
  maxPendingInputs: NonNullable<NonNullable<RuntimeSpec["limits"]>["maxPendingInputs"]>;
  payloadLimit: NonNullable<NonNullable<RuntimeSpec["limits"]>["payloadLimit"]>;
  resultTtl: NonNullable<NonNullable<RuntimeSpec["limits"]>["resultTtl"]>;
}

/** RuntimeSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedRuntimeSpec extends RuntimeSpec {
  namespace: NonNullable<RuntimeSpec["namespace"]>;
  installCrds: NonNullable<RuntimeSpec["installCrds"]>;
  state: ResolvedRuntimeSpecState;
  limits: ResolvedRuntimeSpecLimits;
  cpu: NonNullable<RuntimeSpec["cpu"]>;
  memory: NonNullable<RuntimeSpec["memory"]>;
  logLevel: NonNullable<RuntimeSpec["logLevel"]>;
  metricsScrape: NonNullable<RuntimeSpec["metricsScrape"]>;
}

/** AppSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedAppSpec extends AppSpec {
  environment: NonNullable<AppSpec["environment"]>;
  secrets: NonNullable<AppSpec["secrets"]>;
  labels: NonNullable<AppSpec["labels"]>;
  runtimeNamespace: NonNullable<AppSpec["runtimeNamespace"]>;
}

/** `retries` of ResolvedFunctionSpec. */
export interface ResolvedFunctionSpecRetries extends NonNullable<FunctionSpec["retries"]> {
  backoffCoefficient: NonNullable<NonNullable<FunctionSpec["retries"]>["backoffCoefficient"]>;
  initialDelay: NonNullable<NonNullable<FunctionSpec["retries"]>["initialDelay"]>;
  maxDelay: NonNullable<NonNullable<FunctionSpec["retries"]>["maxDelay"]>;
}

/** `autoscaler` of ResolvedFunctionSpec. */
export interface ResolvedFunctionSpecAutoscaler extends NonNullable<FunctionSpec["autoscaler"]> {
  minContainers: NonNullable<NonNullable<FunctionSpec["autoscaler"]>["minContainers"]>;
  maxContainers: NonNullable<NonNullable<FunctionSpec["autoscaler"]>["maxContainers"]>;
  bufferContainers: NonNullable<NonNullable<FunctionSpec["autoscaler"]>["bufferContainers"]>;
  scaledownWindow: NonNullable<NonNullable<FunctionSpec["autoscaler"]>["scaledownWindow"]>;
  maxConcurrentStarts: NonNullable<NonNullable<FunctionSpec["autoscaler"]>["maxConcurrentStarts"]>;
}

/** `concurrency` of ResolvedFunctionSpec. */
export interface ResolvedFunctionSpecConcurrency extends NonNullable<FunctionSpec["concurrency"]> {
  targetInputs: NonNullable<NonNullable<FunctionSpec["concurrency"]>["targetInputs"]>;
}

/** FunctionSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedFunctionSpec extends FunctionSpec {
  runtime: NonNullable<FunctionSpec["runtime"]>;
  gpuFallbacks: NonNullable<FunctionSpec["gpuFallbacks"]>;
  cpu: NonNullable<FunctionSpec["cpu"]>;
  memory: NonNullable<FunctionSpec["memory"]>;
  timeout: NonNullable<FunctionSpec["timeout"]>;
  startupTimeout: NonNullable<FunctionSpec["startupTimeout"]>;
  retries: ResolvedFunctionSpecRetries;
  secrets: NonNullable<FunctionSpec["secrets"]>;
  volumes: NonNullable<FunctionSpec["volumes"]>;
  env: NonNullable<FunctionSpec["env"]>;
  serialization: NonNullable<FunctionSpec["serialization"]>;
  autoscaler: ResolvedFunctionSpecAutoscaler;
  concurrency: ResolvedFunctionSpecConcurrency;
}

/** `karpenter` of ResolvedGpuPoolSpec. */
export interface ResolvedGpuPoolSpecKarpenter extends NonNullable<GpuPoolSpec["karpenter"]> {
  consolidateAfter: NonNullable<NonNullable<GpuPoolSpec["karpenter"]>["consolidateAfter"]>;
}

/** GpuPoolSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedGpuPoolSpec extends GpuPoolSpec {
  capacityType: NonNullable<GpuPoolSpec["capacityType"]>;
  minNodes: NonNullable<GpuPoolSpec["minNodes"]>;
  maxNodes: NonNullable<GpuPoolSpec["maxNodes"]>;
  diskSize: NonNullable<GpuPoolSpec["diskSize"]>;
  karpenter?: ResolvedGpuPoolSpecKarpenter;
  taint: NonNullable<GpuPoolSpec["taint"]>;
}

/** `efs` of ResolvedVolumeSpec. */
export interface ResolvedVolumeSpecEfs extends NonNullable<VolumeSpec["efs"]> {
  throughputMode: NonNullable<NonNullable<VolumeSpec["efs"]>["throughputMode"]>;
  encrypted: NonNullable<NonNullable<VolumeSpec["efs"]>["encrypted"]>;
}

/** VolumeSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedVolumeSpec extends VolumeSpec {
  kind: NonNullable<VolumeSpec["kind"]>;
  size: NonNullable<VolumeSpec["size"]>;
  accessMode: NonNullable<VolumeSpec["accessMode"]>;
  efs?: ResolvedVolumeSpecEfs;
}

/** `awsSecretsManager` of ResolvedSecretSpec. */
export interface ResolvedSecretSpecAwsSecretsManager extends NonNullable<SecretSpec["awsSecretsManager"]> {
  secretStore: NonNullable<NonNullable<SecretSpec["awsSecretsManager"]>["secretStore"]>;
  refreshInterval: NonNullable<NonNullable<SecretSpec["awsSecretsManager"]>["refreshInterval"]>;
}

/** SecretSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedSecretSpec extends SecretSpec {
  awsSecretsManager?: ResolvedSecretSpecAwsSecretsManager;
}

/** ScheduleSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedScheduleSpec extends ScheduleSpec {
  timezone: NonNullable<ScheduleSpec["timezone"]>;
  args: NonNullable<ScheduleSpec["args"]>;
  kwargs: NonNullable<ScheduleSpec["kwargs"]>;
  missed: NonNullable<ScheduleSpec["missed"]>;
  overlap: NonNullable<ScheduleSpec["overlap"]>;
  suspended: NonNullable<ScheduleSpec["suspended"]>;
}

/** EndpointSpec as checkSpec returns it: every field with a default is present. */
export interface ResolvedEndpointSpec extends EndpointSpec {
  kind: NonNullable<EndpointSpec["kind"]>;
  path: NonNullable<EndpointSpec["path"]>;
  methods: NonNullable<EndpointSpec["methods"]>;
  public: NonNullable<EndpointSpec["public"]>;
  domains: NonNullable<EndpointSpec["domains"]>;
  tlsIssuer: NonNullable<EndpointSpec["tlsIssuer"]>;
  syncTimeout: NonNullable<EndpointSpec["syncTimeout"]>;
  maxPendingRequests: NonNullable<EndpointSpec["maxPendingRequests"]>;
}
