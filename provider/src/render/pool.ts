/**
 * GPU capacity: instance choice from the catalog, the labels and taints functions select, and the
 * Karpenter objects. Pulumi-free, so that it is tested as plain data.
 */
import { GPU_CATALOG, maxGpusPerInstance, type GpuPoolSpec } from "@warmpool/schema";
import { LABEL_GPU, LABEL_POOL, TAINT_GPU } from "../labels";

export interface PoolTaint {
  key: string;
  value: string;
  effect: "NoSchedule";
}

export function poolInstanceTypes(spec: GpuPoolSpec): string[] {
  return spec.instanceTypes ?? Object.keys(GPU_CATALOG[spec.gpu]?.instances ?? {});
}

export function poolLabels(spec: GpuPoolSpec): Record<string, string> {
  if (spec.kind === "static") return { ...(spec.nodeSelector ?? {}) };
  return { [LABEL_POOL]: spec.name, [LABEL_GPU]: spec.gpu };
}

export function poolTaints(spec: GpuPoolSpec): PoolTaint[] {
  if (spec.kind === "static" || spec.taint === false) return [];
  return [
    { key: TAINT_GPU, value: "true", effect: "NoSchedule" },
    { key: LABEL_POOL, value: spec.name, effect: "NoSchedule" },
  ];
}

export function maxGpusPerNode(spec: GpuPoolSpec): number {
  return maxGpusPerInstance(spec.gpu, poolInstanceTypes(spec));
}

/**
 * The most the pool can cost per hour at full size, on demand: the number a finance team asks for.
 * eks: maxNodes × the dearest instance type; karpenter: maxGpus × the dearest price per GPU.
 */
export function hourlyCostCeiling(spec: GpuPoolSpec): number {
  const instances = GPU_CATALOG[spec.gpu]?.instances ?? {};
  const priced = poolInstanceTypes(spec)
    .map((type) => ({ gpus: instances[type]?.gpus ?? 0, usd: spec.prices?.[type] ?? instances[type]?.usdPerHour ?? 0 }))
    .filter((i) => i.gpus > 0);
  if (priced.length === 0) return 0;
  const ceiling = spec.kind === "karpenter" ? (spec.maxGpus ?? 0) * Math.max(...priced.map((i) => i.usd / i.gpus)) : (spec.maxNodes ?? 2) * Math.max(...priced.map((i) => i.usd));
  return Math.round(ceiling * 100) / 100;
}

const KARPENTER_CAPACITY: Record<string, string> = { onDemand: "on-demand", spot: "spot" };

export function karpenterNodePoolSpec(spec: GpuPoolSpec, nodeClassName: string): object {
  const karpenter = spec.karpenter!;
  return {
    template: {
      metadata: { labels: poolLabels(spec) },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: nodeClassName },
        requirements: [
          { key: "node.kubernetes.io/instance-type", operator: "In", values: poolInstanceTypes(spec) },
          { key: "karpenter.sh/capacity-type", operator: "In", values: [KARPENTER_CAPACITY[spec.capacityType ?? "onDemand"]] },
        ],
        taints: poolTaints(spec),
        expireAfter: "720h",
      },
    },
    limits: spec.maxGpus === undefined ? undefined : { "nvidia.com/gpu": String(spec.maxGpus) },
    disruption: { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: `${karpenter.consolidateAfter ?? 300}s` },
  };
}

export function karpenterNodeClassSpec(spec: GpuPoolSpec, role: string, discoveryTag: string): object {
  const selector = [{ tags: { "karpenter.sh/discovery": discoveryTag } }];
  return {
    role,
    // The al2023 alias resolves to the NVIDIA variant of the AMI on GPU instance types.
    amiSelectorTerms: [{ alias: "al2023@latest" }],
    subnetSelectorTerms: selector,
    securityGroupSelectorTerms: selector,
    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: `${spec.diskSize ?? 200}Gi`, volumeType: "gp3", encrypted: true } }],
  };
}
