/**
 * Consistency rules of a GpuPoolSpec: each kind takes its own settings, instance types must carry
 * the pool's GPU type, and node bounds must be ordered.
 */
import { GPU_CATALOG } from "../gpu";
import type { Problem } from "../problems";
import type { GpuPoolSpec } from "../generated/specs";

export function gpuPoolProblems(spec: GpuPoolSpec): Problem[] {
  const problems: Problem[] = [];
  const requires = { eks: "eks", karpenter: "karpenter", static: "nodeSelector" } as const;
  const needed = requires[spec.kind];
  for (const [kind, field] of Object.entries(requires)) {
    const present = spec[field as keyof GpuPoolSpec] !== undefined;
    if (kind === spec.kind && !present) {
      problems.push({ path: field, value: undefined, message: `is required when kind is ${spec.kind}` });
    }
    if (kind !== spec.kind && present) {
      problems.push({ path: field, value: spec[field as keyof GpuPoolSpec], message: `is only allowed when kind is ${kind} (kind is ${spec.kind}; use ${needed})` });
    }
  }
  if (spec.kind !== "static" && spec.gpu === "any") {
    problems.push({ path: "gpu", value: spec.gpu, message: `must be a concrete GPU type for a ${spec.kind} pool (it buys instances of one type)` });
  }
  if (spec.minNodes !== undefined && spec.maxNodes !== undefined && spec.minNodes > spec.maxNodes) {
    problems.push({ path: "minNodes", value: spec.minNodes, message: `must be at most maxNodes (${spec.maxNodes})`, related: ["maxNodes"] });
  }
  if (spec.maxGpus !== undefined && spec.kind !== "karpenter") {
    problems.push({ path: "maxGpus", value: spec.maxGpus, message: `is only allowed when kind is karpenter (use minNodes/maxNodes for ${spec.kind})` });
  }
  const known = GPU_CATALOG[spec.gpu]?.instances ?? {};
  spec.instanceTypes?.forEach((instanceType, index) => {
    if (known[instanceType] === undefined && spec.kind !== "static") {
      problems.push({
        path: `instanceTypes[${index}]`,
        value: instanceType,
        message: `does not carry ${spec.gpu} GPUs (allowed: ${Object.keys(known).join(", ") || "none"})`,
        related: ["gpu"],
      });
    }
  });
  return problems;
}
