/**
 * Consistency rules of a RuntimeSpec: the state store's settings match its kind.
 */
import type { Problem } from "../problems";
import type { RuntimeSpec } from "../generated/specs";

export function runtimeProblems(spec: RuntimeSpec): Problem[] {
  const state = spec.state;
  if (state?.kind === "postgres" && state.postgresUrlSecret === undefined) {
    return [{ path: "state.postgresUrlSecret", value: undefined, message: "is required when state.kind is postgres (the Secret key holding the PostgreSQL URL)" }];
  }
  if (state?.kind !== "postgres" && state?.postgresUrlSecret !== undefined) {
    return [{ path: "state.postgresUrlSecret", value: state.postgresUrlSecret, message: "is only allowed when state.kind is postgres" }];
  }
  return [];
}
