/**
 * Consistency rules of a FunctionSpec that JSON Schema cannot express.
 */
import { formatGpu, gpuCountProblem, parseGpu } from "../gpu";
import type { Problem } from "../problems";
import type { FunctionSpec } from "../generated/specs";

/** Paths that a volume must not shadow: the container would stop working. */
const RESERVED_MOUNTS = ["/", "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/lib", "/tmp"];

export function functionProblems(spec: FunctionSpec): Problem[] {
  const problems: Problem[] = [];
  const { autoscaler, concurrency, retries } = spec;

  if (autoscaler?.minContainers !== undefined && autoscaler.maxContainers !== undefined && autoscaler.minContainers > autoscaler.maxContainers) {
    problems.push({
      path: "autoscaler.minContainers",
      value: autoscaler.minContainers,
      message: `must be at most autoscaler.maxContainers (${autoscaler.maxContainers})`,
      related: ["autoscaler.maxContainers"],
    });
  }
  if (autoscaler?.bufferContainers !== undefined && autoscaler.maxContainers !== undefined && autoscaler.bufferContainers > autoscaler.maxContainers) {
    problems.push({
      path: "autoscaler.bufferContainers",
      value: autoscaler.bufferContainers,
      message: `must be at most autoscaler.maxContainers (${autoscaler.maxContainers})`,
      related: ["autoscaler.maxContainers"],
    });
  }
  if (concurrency?.targetInputs !== undefined && concurrency.targetInputs > concurrency.maxInputs) {
    problems.push({
      path: "concurrency.targetInputs",
      value: concurrency.targetInputs,
      message: `must be at most concurrency.maxInputs (${concurrency.maxInputs})`,
      related: ["concurrency.maxInputs"],
    });
  }
  if (spec.batching !== undefined && concurrency !== undefined && concurrency.maxInputs > 1) {
    problems.push({
      path: "batching",
      value: spec.batching,
      message: "cannot be combined with concurrency.maxInputs > 1: a batched container runs one batch at a time",
      related: ["concurrency.maxInputs"],
    });
  }
  if (retries?.initialDelay !== undefined && retries.maxDelay !== undefined && retries.initialDelay > retries.maxDelay) {
    problems.push({
      path: "retries.initialDelay",
      value: retries.initialDelay,
      message: `must be at most retries.maxDelay (${retries.maxDelay})`,
      related: ["retries.maxDelay"],
    });
  }
  if (spec.serialization === "pickle" && (spec.runtime ?? "python") !== "python") {
    problems.push({
      path: "serialization",
      value: spec.serialization,
      message: `must be "json" for runtime "${spec.runtime}": only the Python runtime (and a Python caller) can read pickles`,
      related: ["runtime"],
    });
  }
  problems.push(...gpuProblems(spec));
  for (const mountPath of Object.keys(spec.volumes ?? {})) {
    const normalized = mountPath.replace(/\/+$/, "") || "/";
    if (RESERVED_MOUNTS.includes(normalized) || mountPath.split("/").includes("..")) {
      problems.push({
        path: `volumes.${mountPath}`,
        value: spec.volumes?.[mountPath],
        message: `cannot mount over ${normalized} (allowed: an absolute path outside ${RESERVED_MOUNTS.join(", ")}, without '..')`,
      });
    }
  }
  for (const name of Object.keys(spec.env ?? {})) {
    if (name.startsWith("WARMPOOL_")) {
      problems.push({ path: `env.${name}`, value: spec.env?.[name], message: "uses the reserved prefix WARMPOOL_ (the worker runtime sets these)" });
    }
  }
  return problems;
}

function gpuProblems(spec: FunctionSpec): Problem[] {
  const problems: Problem[] = [];
  const requests = [spec.gpu, ...(spec.gpuFallbacks ?? [])];
  requests.forEach((gpu, index) => {
    if (gpu === undefined) return;
    const path = index === 0 ? "gpu" : `gpuFallbacks[${index - 1}]`;
    const problem = gpuCountProblem(parseGpu(gpu));
    if (problem !== undefined) problems.push({ path, value: gpu, message: problem });
  });
  if (spec.gpu === undefined && (spec.gpuFallbacks?.length ?? 0) > 0) {
    problems.push({ path: "gpuFallbacks", value: spec.gpuFallbacks, message: "needs a first choice in gpu" });
  }
  if (spec.gpu !== undefined) {
    const first = formatGpu(parseGpu(spec.gpu));
    spec.gpuFallbacks?.forEach((fallback, index) => {
      if (formatGpu(parseGpu(fallback)) === first) {
        problems.push({ path: `gpuFallbacks[${index}]`, value: fallback, message: `repeats gpu (${spec.gpu})` });
      }
    });
  }
  return problems;
}
