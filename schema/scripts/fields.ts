/**
 * Walks a spec schema into a flat list of documented fields, the common ground of the Pulumi Args
 * emitter and the README reference.
 */
import { deref } from "../src/refs";
import type { JsonSchema } from "../src/specs";

export interface PulumiAnnotation {
  omit?: boolean;
  input?: boolean;
  ref?: string;
  json?: boolean;
  secret?: boolean;
}

export interface Field {
  name: string;
  /** The node after `$ref`s are followed. */
  node: JsonSchema;
  base: JsonSchema;
  defName?: string;
  required: boolean;
  pulumi: PulumiAnnotation;
}

export function fieldsOf(node: JsonSchema, base: JsonSchema): Field[] {
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((node.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, child]) => {
    const resolved = deref(child, base);
    return {
      name,
      node: resolved.node,
      base: resolved.base,
      defName: resolved.defName,
      required: required.has(name),
      pulumi: (resolved.node["x-pulumi"] as PulumiAnnotation | undefined) ?? {},
    };
  });
}

/** A field whose value is an object with named properties gets a nested type of its own. */
export function isNested(field: Field): boolean {
  return field.node.type === "object" && field.node.properties !== undefined && !field.pulumi.ref && !field.pulumi.json;
}

export function unitOf(node: JsonSchema): string {
  return typeof node["x-unit"] === "string" ? node["x-unit"] : "";
}

export function rangeOf(node: JsonSchema): string {
  if (Array.isArray(node.enum)) return node.enum.map((v) => `\`${v}\``).join(", ");
  const low = node.minimum ?? (node.exclusiveMinimum !== undefined ? `>${node.exclusiveMinimum}` : undefined);
  const high = node.maximum;
  if (low !== undefined && high !== undefined) return `${low}–${high}`;
  if (low !== undefined) return `≥ ${low}`;
  if (high !== undefined) return `≤ ${high}`;
  if (typeof node["x-allowed"] === "string") return node["x-allowed"];
  if (node.type === "array" && node.items !== undefined) {
    const items = node.items as JsonSchema;
    if (Array.isArray(items.enum)) return `each of ${items.enum.map((v) => `\`${v}\``).join(", ")}`;
  }
  return "";
}

export function defaultOf(field: Field): string {
  if (field.node.default === undefined) return field.required ? "required" : "";
  const value = JSON.stringify(field.node.default);
  return value === "{}" || value === "[]" ? "" : `\`${value}\``;
}

export function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
