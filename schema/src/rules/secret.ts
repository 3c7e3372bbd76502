/**
 * Consistency rules of a SecretSpec: values or an AWS Secrets Manager reference, exactly one.
 */
import type { Problem } from "../problems";
import type { SecretSpec } from "../generated/specs";

export function secretProblems(spec: SecretSpec): Problem[] {
  if ((spec.values === undefined) === (spec.awsSecretsManager === undefined)) {
    return [{ path: spec.values === undefined ? "values" : "awsSecretsManager", value: undefined, message: "exactly one of values and awsSecretsManager must be set" }];
  }
  if (spec.values !== undefined && Object.keys(spec.values).length === 0) {
    return [{ path: "values", value: undefined, message: "must hold at least one key" }];
  }
  return [];
}
