/**
 * The GPU catalog: which GPU types exist, the counts each is sold in, and the EC2 instance types that
 * carry them (GPUs per instance, on-demand $/h). Pools and functions are checked against it.
 */
import catalog from "../catalog/gpus.json";

export interface GpuInstance {
  gpus: number;
  usdPerHour: number;
}

export interface GpuCatalogEntry {
  counts: number[];
  memoryGiB: number;
  /** Value of the `nvidia.com/gpu.product` node label that GPU feature discovery sets. */
  product: string;
  instances: Record<string, GpuInstance>;
}

export const GPU_CATALOG: Readonly<Record<string, GpuCatalogEntry>> = Object.fromEntries(Object.entries(catalog).filter(([key]) => !key.startsWith("$"))) as Record<string, GpuCatalogEntry>;

export const GPU_TYPES: readonly string[] = Object.keys(GPU_CATALOG);

export interface GpuRequest {
  type: string;
  count: number;
}

/** Parses `H100` or `H100:2`. The schema has already checked the shape. */
export function parseGpu(gpu: string): GpuRequest {
  const [type, count] = gpu.split(":");
  return { type: type!, count: count === undefined ? 1 : Number(count) };
}

export function formatGpu(request: GpuRequest): string {
  return `${request.type}:${request.count}`;
}

/** Returns why `request` cannot be bought, or undefined when it can. */
export function gpuCountProblem(request: GpuRequest): string | undefined {
  const entry = GPU_CATALOG[request.type];
  if (entry === undefined) return `unknown GPU type (allowed: ${GPU_TYPES.join(", ")})`;
  if (!entry.counts.includes(request.count)) {
    return `${request.type} is sold in counts of ${entry.counts.join(", ")} per container`;
  }
  return undefined;
}

/** Most GPUs any single instance type of `type` carries (0 for `any`). */
export function maxGpusPerInstance(type: string, instanceTypes?: readonly string[]): number {
  const instances = GPU_CATALOG[type]?.instances ?? {};
  const names = instanceTypes ?? Object.keys(instances);
  return Math.max(0, ...names.map((name) => instances[name]?.gpus ?? 0));
}
