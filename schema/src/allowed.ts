/**
 * Says in words what a schema node allows, so that every error can name the allowed values
 * without a hand-written message per field.
 */
import type { JsonSchema } from "./specs";

export function describeAllowed(node: JsonSchema | undefined): string {
  if (node === undefined) return "";
  if (typeof node["x-allowed"] === "string") return node["x-allowed"];
  if (Array.isArray(node.enum)) return `one of ${node.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const unit = typeof node["x-unit"] === "string" ? ` ${node["x-unit"]}` : "";
  switch (node.type) {
    case "integer":
    case "number":
      return `${node.type === "integer" ? "an integer" : "a number"}${range(node)}${unit}`;
    case "string":
      return typeof node.pattern === "string" ? `a string matching ${node.pattern}` : "a string";
    case "boolean":
      return "true or false";
    case "array":
      return "a list";
    case "object":
      return "an object";
    default:
      return typeof node.pattern === "string" ? `a string matching ${node.pattern}` : "";
  }
}

function range(node: JsonSchema): string {
  const min = typeof node.minimum === "number" ? `${node.minimum}` : undefined;
  const xmin = typeof node.exclusiveMinimum === "number" ? `${node.exclusiveMinimum}` : undefined;
  const max = typeof node.maximum === "number" ? `${node.maximum}` : undefined;
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (xmin !== undefined && max !== undefined) return ` greater than ${xmin}, at most ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (xmin !== undefined) return ` greater than ${xmin}`;
  if (max !== undefined) return ` of at most ${max}`;
  return "";
}
