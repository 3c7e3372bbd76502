/**
 * Resolves the `$ref`s used across schema/specs: `file.json#/$defs/x` and `#/$defs/x`. The schemas
 * only ever point into `$defs`, so a registry by file name is all the resolution they need.
 */
import { SHARED_SCHEMAS, SPEC_SCHEMAS, type JsonSchema } from "./specs";

export const registry: ReadonlyMap<string, JsonSchema> = new Map([...Object.values(SPEC_SCHEMAS), ...SHARED_SCHEMAS].map((s) => [String(s.$id).split("/").pop()!, s]));

export interface Resolved {
  /** The node the reference points at, with the referring node's own keywords laid over it. */
  node: JsonSchema;
  /** The document that holds it, for the node's own local references. */
  base: JsonSchema;
  /** The `$defs` key it was found under, if any. */
  defName?: string;
}

export function resolveRef(ref: string, base: JsonSchema): Resolved {
  const [file, pointer = ""] = ref.split("#");
  const doc = file === "" ? base : registry.get(file!);
  if (doc === undefined) throw new Error(`unknown schema file in $ref ${ref}`);
  const parts = pointer.split("/").filter((part) => part !== "");
  const node = parts.reduce<unknown>((at, part) => (at as JsonSchema | undefined)?.[part], doc) as JsonSchema | undefined;
  if (node === undefined) throw new Error(`$ref ${ref} points at nothing`);
  return { node, base: doc, defName: parts.at(-1) };
}

/** Follows a node's `$ref` chain, keeping the outermost descriptions and annotations. */
export function deref(node: JsonSchema, base: JsonSchema): Resolved {
  if (typeof node.$ref !== "string") return { node, base };
  const target = resolveRef(node.$ref, base);
  const { $ref: _ref, ...siblings } = node;
  const inner = deref({ ...target.node, ...siblings }, target.base);
  return { ...inner, defName: inner.defName ?? target.defName };
}
