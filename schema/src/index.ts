/**
 * @warmpool/schema: the JSON Schemas of every warmpool spec, the one validator that provider and agent
 * share, the GPU catalog, and the types and CRDs generated from the schemas.
 */
import { functionProblems } from "./rules/function";
import { endpointProblems } from "./rules/endpoint";
import { gpuPoolProblems } from "./rules/gpupool";
import { runtimeProblems } from "./rules/runtime";
import { scheduleProblems } from "./rules/schedule";
import { secretProblems } from "./rules/secret";
import { volumeProblems } from "./rules/volume";
import { SpecError, type Problem } from "./problems";
import { deriveDefaults } from "./derived";
import { schemaProblems } from "./validate";
import type { SpecKind } from "./specs";
import type * as Specs from "./generated/specs";
import type * as Resolved from "./generated/resolved";

export * from "./problems";
export { closest, didYouMean, editDistance } from "./suggest";
export * from "./specs";
export * from "./gpu";
export type * from "./generated/specs";
export type * from "./generated/resolved";
export { DERIVED_DEFAULTS, type DerivedDefault } from "./derived";
export { isTimezone } from "./rules/schedule";
export { duplicatePathProblems, endpointFunctionProblems, endpointMethodProblems } from "./rules/endpoint";

export interface SpecTypes {
  Runtime: Specs.RuntimeSpec;
  App: Specs.AppSpec;
  Function: Specs.FunctionSpec;
  GpuPool: Specs.GpuPoolSpec;
  Volume: Specs.VolumeSpec;
  Secret: Specs.SecretSpec;
  Schedule: Specs.ScheduleSpec;
  Endpoint: Specs.EndpointSpec;
}

/** Each kind as checkSpec returns it: every field with a default (in the schema or DERIVED_DEFAULTS) present. */
export interface ResolvedSpecTypes extends SpecTypes {
  Runtime: Resolved.ResolvedRuntimeSpec;
  App: Resolved.ResolvedAppSpec;
  Function: Resolved.ResolvedFunctionSpec;
  GpuPool: Resolved.ResolvedGpuPoolSpec;
  Volume: Resolved.ResolvedVolumeSpec;
  Secret: Resolved.ResolvedSecretSpec;
  Schedule: Resolved.ResolvedScheduleSpec;
  Endpoint: Resolved.ResolvedEndpointSpec;
}

type Rules = { [K in SpecKind]: (spec: SpecTypes[K]) => Problem[] };

const RULES: Rules = {
  Runtime: runtimeProblems,
  App: () => [],
  Function: functionProblems,
  GpuPool: gpuPoolProblems,
  Volume: volumeProblems,
  Secret: secretProblems,
  Schedule: scheduleProblems,
  Endpoint: endpointProblems,
};

export type CheckResult<K extends SpecKind> = { ok: true; spec: ResolvedSpecTypes[K] } | { ok: false; problems: Problem[] };

/**
 * Validates `input` as a spec of `kind`: the JSON Schema first, then the consistency rules. Returns the
 * spec with every default filled in, or every problem found.
 */
export function checkSpec<K extends SpecKind>(kind: K, input: unknown): CheckResult<K> {
  // A JSON round trip, not structuredClone: specs are JSON, explicit `undefined`s from other SDKs must
  // read as absent, and the copy's arrays must belong to the caller's realm (jest runs tests in a vm).
  const spec = (input === undefined ? undefined : JSON.parse(JSON.stringify(input))) as SpecTypes[K];
  const problems = schemaProblems(kind, spec);
  const bad = new Set(problems.map((p) => p.path));
  let ruleProblems: Problem[];
  try {
    ruleProblems = RULES[kind](spec);
  } catch {
    // A rule only trips over a value of the wrong shape, which the schema has already reported.
    ruleProblems = [];
  }
  const isBad = (path: string): boolean => [...bad].some((b) => path === b || path.startsWith(`${b}.`));
  for (const { related, ...problem } of ruleProblems) {
    if (!isBad(problem.path) && !(related ?? []).some(isBad)) problems.push(problem);
  }
  if (problems.length > 0) return { ok: false, problems };
  deriveDefaults(kind, spec);
  // The schema's defaults (ajv's useDefaults) and the derived ones are in: the resolved type holds.
  return { ok: true, spec: spec as ResolvedSpecTypes[K] };
}

/** Like checkSpec, but throws one SpecError naming `subject` with every problem. */
export function parseSpec<K extends SpecKind>(kind: K, input: unknown, subject: string): ResolvedSpecTypes[K] {
  const result = checkSpec(kind, input);
  if (!result.ok) throw new SpecError(subject, result.problems);
  return result.spec;
}

export { CRD_GROUP, CRD_VERSION, crdManifests } from "./crd";
export * from "./contract";
export { appToken, appTokenMac, parseAppToken } from "./app-token";
