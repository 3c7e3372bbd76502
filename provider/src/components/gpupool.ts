/**
 * GpuPool: GPU capacity that functions run on — an EKS managed node group, a Karpenter NodePool and
 * EC2NodeClass, or existing nodes selected by labels.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GpuPoolArgs } from "../generated/args";
import type { PoolRef } from "../refs";
import { hourlyCostCeiling, karpenterNodeClassSpec, karpenterNodePoolSpec, maxGpusPerNode, poolInstanceTypes, poolLabels, poolTaints } from "../render/pool";
import { PENDING_REF, validated } from "../spec";

const EKS_CAPACITY: Record<string, string> = { onDemand: "ON_DEMAND", spot: "SPOT" };

/** GPU capacity for functions. */
export class GpuPool extends pulumi.ComponentResource {
  /** What Functions pinned to this pool point at. */
  public readonly ref: pulumi.Output<PoolRef>;
  /** On-demand cost of the pool at its maximum size, in USD per hour, from the GPU catalog. */
  public readonly hourlyCostCeiling: pulumi.Output<number>;

  constructor(name: string, args: GpuPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("warmpool:index:GpuPool", name, {}, opts);
    const spec = validated(
      "GpuPool",
      name,
      {
        ...args,
        name,
        eks: args.eks && { clusterName: PENDING_REF, nodeRoleArn: PENDING_REF, subnetIds: args.eks.subnetIds?.map(() => PENDING_REF) },
        karpenter: args.karpenter && { ...args.karpenter, nodeRole: PENDING_REF, discoveryTag: PENDING_REF },
      },
      this,
    );
    const child = { parent: this };

    if (spec.kind === "eks") {
      const eks = args.eks!;
      new aws.eks.NodeGroup(
        name,
        {
          clusterName: eks.clusterName,
          nodeGroupName: `warmpool-${name}`,
          nodeRoleArn: eks.nodeRoleArn,
          subnetIds: eks.subnetIds,
          amiType: "AL2023_x86_64_NVIDIA",
          instanceTypes: poolInstanceTypes(spec),
          capacityType: EKS_CAPACITY[spec.capacityType ?? "onDemand"],
          diskSize: spec.diskSize,
          scalingConfig: { minSize: spec.minNodes ?? 0, maxSize: spec.maxNodes ?? 2, desiredSize: spec.minNodes ?? 0 },
          labels: poolLabels(spec),
          taints: poolTaints(spec).map((t) => ({ key: t.key, value: t.value, effect: "NO_SCHEDULE" })),
          tags: { "warmpool.dev/pool": name, "warmpool.dev/gpu": spec.gpu },
        },
        {
          ...child,
          // The cluster autoscaler owns the current size; `pulumi up` must not reset it.
          ignoreChanges: ["scalingConfig.desiredSize"],
        },
      );
    } else if (spec.kind === "karpenter") {
      const karpenter = args.karpenter!;
      const nodeClass = new k8s.apiextensions.CustomResource(
        `${name}-nodeclass`,
        {
          apiVersion: "karpenter.k8s.aws/v1",
          kind: "EC2NodeClass",
          metadata: { name: `warmpool-${name}` },
          spec: pulumi.all([karpenter.nodeRole, karpenter.discoveryTag]).apply(([role, tag]) => karpenterNodeClassSpec(spec, role, tag)),
        },
        child,
      );
      new k8s.apiextensions.CustomResource(
        `${name}-nodepool`,
        {
          apiVersion: "karpenter.sh/v1",
          kind: "NodePool",
          metadata: { name: `warmpool-${name}` },
          spec: nodeClass.metadata.name.apply((className) => karpenterNodePoolSpec(spec, className)),
        },
        child,
      );
    }

    this.ref = pulumi.output({
      name,
      kind: spec.kind,
      gpu: spec.gpu,
      maxGpusPerNode: maxGpusPerNode(spec),
      nodeSelector: poolLabels(spec),
      tainted: poolTaints(spec).length > 0,
    });
    this.hourlyCostCeiling = pulumi.output(hourlyCostCeiling(spec));
    this.registerOutputs({ ref: this.ref, hourlyCostCeiling: this.hourlyCostCeiling });
  }
}
