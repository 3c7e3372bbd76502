/**
 * Defaults that depend on other fields, which JSON Schema cannot state: one table, read by checkSpec
 * (which fills them after the schema's own defaults) and by the generator of the resolved spec types
 * (which marks them as always present).
 */
import type { SpecKind } from "./specs";

export interface DerivedDefault {
  /** Dotted path of the field filled in. */
  field: string;
  /** Dotted path of the field whose value it takes. */
  from: string;
}

export const DERIVED_DEFAULTS: Readonly<Partial<Record<SpecKind, readonly DerivedDefault[]>>> = {
  Function: [
    { field: "startupTimeout", from: "timeout" },
    { field: "concurrency.targetInputs", from: "concurrency.maxInputs" },
  ],
};

/** Fills `kind`'s derived defaults into `spec` (in place): each field still absent takes its source's value, when its object is there. */
export function deriveDefaults(kind: SpecKind, spec: unknown): void {
  for (const { field, from } of DERIVED_DEFAULTS[kind] ?? []) {
    const parts = field.split(".");
    const last = parts.pop() as string;
    const owner = parts.reduce<unknown>((at, p) => (at as Record<string, unknown> | undefined)?.[p], spec) as Record<string, unknown> | undefined;
    if (owner === undefined || owner === null || owner[last] !== undefined) continue;
    owner[last] = from.split(".").reduce<unknown>((at, p) => (at as Record<string, unknown> | undefined)?.[p], spec);
  }
}
