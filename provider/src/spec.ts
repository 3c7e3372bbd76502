/**
 * Turns component arguments into a validated spec, reporting every problem at once as a
 * ResourceError that names the resource.
 *
 * Arguments that reference other components (`*Ref` inputs) are Outputs, unknown when the
 * constructor runs. The plain fields are checked at once, with those references stood in for by a
 * valid name, so that `pulumi preview` fails on bad input even when the references are unknown;
 * the spec with the real names is built again once they resolve.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkSpec, formatProblems, type Problem, type SpecKind, type SpecTypes } from "@warmpool/schema";

/** Stands in for a name that comes from another component's ref until it resolves. */
export const PENDING_REF = "pending-ref";

export function subjectOf(kind: SpecKind, name: string): string {
  return `warmpool:index:${kind} "${name}"`;
}

/** Validates `input` as a `kind` spec; throws one ResourceError with every problem. */
export function validated<K extends SpecKind>(kind: K, name: string, input: object, parent: pulumi.Resource): SpecTypes[K] {
  const result = checkSpec(kind, input);
  if (!result.ok) throw new pulumi.ResourceError(formatProblems(subjectOf(kind, name), result.problems), parent, true);
  return result.spec;
}

/** Throws a ResourceError when problems found after references resolved are not empty. */
export function assertNoProblems(kind: SpecKind, name: string, problems: Problem[], parent: pulumi.Resource): void {
  if (problems.length > 0) throw new pulumi.ResourceError(formatProblems(subjectOf(kind, name), problems), parent, true);
}
