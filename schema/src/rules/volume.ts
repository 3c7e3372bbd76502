/**
 * Consistency rules of a VolumeSpec: each kind takes its own settings block and no other.
 */
import type { Problem } from "../problems";
import type { VolumeSpec } from "../generated/specs";

export function volumeProblems(spec: VolumeSpec): Problem[] {
  const problems: Problem[] = [];
  const kind = spec.kind ?? "pvc";
  if (kind === "efs" && spec.efs === undefined) {
    problems.push({ path: "efs", value: undefined, message: "is required when kind is efs (subnetIds and securityGroupIds of the mount targets)" });
  }
  if (kind !== "efs" && spec.efs !== undefined) {
    problems.push({ path: "efs", value: spec.efs, message: `is only allowed when kind is efs (kind is ${kind})` });
  }
  if (kind !== "bucket" && spec.bucket !== undefined) {
    problems.push({ path: "bucket", value: spec.bucket, message: `is only allowed when kind is bucket (kind is ${kind})` });
  }
  if (kind !== "pvc" && spec.storageClass !== undefined) {
    problems.push({ path: "storageClass", value: spec.storageClass, message: `is only allowed when kind is pvc (kind ${kind} brings its own)` });
  }
  if (spec.accessMode === "ReadOnlyMany" && spec.readOnly === false) {
    problems.push({ path: "readOnly", value: false, message: "contradicts accessMode ReadOnlyMany" });
  }
  if (kind === "efs" && spec.accessMode === "ReadWriteOnce") {
    problems.push({ path: "accessMode", value: spec.accessMode, message: "must be ReadWriteMany or ReadOnlyMany for efs (it is shared by every container)" });
  }
  return problems;
}
