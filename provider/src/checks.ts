/**
 * Checks that need another component's ref, run once the refs resolve (they are known during preview
 * because refs derive from plain arguments).
 */
import { endpointFunctionProblems as sharedEndpointFunctionProblems, parseGpu, type EndpointSpec, type FunctionSpec, type Problem } from "@warmpool/schema";
import type { FunctionRef, PoolRef } from "./refs";
import { WORKER_PORT } from "./version";

/** A function must fit the pool it is pinned to; a CPU function must not hold GPU nodes. */
export function poolProblems(spec: FunctionSpec, pool: PoolRef): Problem[] {
  if (spec.gpu === undefined) {
    return [{ path: "pool", value: pool.name, message: `is a GPU pool (${pool.gpu}) but the function requests no gpu: it would hold a GPU node for CPU work` }];
  }
  const problems: Problem[] = [];
  [spec.gpu, ...(spec.gpuFallbacks ?? [])].forEach((gpu, index) => {
    const path = index === 0 ? "gpu" : `gpuFallbacks[${index - 1}]`;
    const request = parseGpu(gpu);
    if (pool.gpu !== "any" && request.type !== pool.gpu && request.type !== "any") {
      problems.push({ path, value: gpu, message: `does not match pool "${pool.name}", whose nodes carry ${pool.gpu} GPUs` });
    } else if (pool.maxGpusPerNode > 0 && request.count > pool.maxGpusPerNode) {
      problems.push({ path, value: gpu, message: `asks for more GPUs than one node of pool "${pool.name}" carries (${pool.maxGpusPerNode})` });
    }
  });
  return problems;
}

/** A web server's port must not take the worker's own port (the agent's protocol and the probes use it). */
export function webPortProblems(spec: FunctionSpec): Problem[] {
  if (spec.webPort !== WORKER_PORT) return [];
  return [{ path: "webPort", value: spec.webPort, message: `must not be ${WORKER_PORT}: the worker itself listens there` }];
}

/** A webServer endpoint's port must be its function's webPort (the rule is the schema's, shared with spec files). */
export function endpointFunctionProblems(spec: EndpointSpec, fn: FunctionRef): Problem[] {
  return sharedEndpointFunctionProblems(spec, fn);
}
