/**
 * Emits the components reference of README.md from the spec schemas: every field with meaning, unit,
 * default and allowed range, nested fields by dotted path.
 */
import { SPEC_KINDS, SPEC_SCHEMAS, type JsonSchema } from "../src/specs";
import { deref } from "../src/refs";
import { defaultOf, fieldsOf, isNested, rangeOf, unitOf, type Field } from "./fields";

export const REFERENCE_START = "<!-- reference:start (generated from schema/specs by `npm run generate`) -->";
export const REFERENCE_END = "<!-- reference:end -->";

export function reference(): string {
  const sections = SPEC_KINDS.map((kind) => {
    const schema = SPEC_SCHEMAS[kind];
    const rows = rowsOf(schema, schema, "");
    return [
      `### ${kind} (\`warmpool:index:${kind}\`)`,
      "",
      String(schema.description),
      "",
      "| Field | Type | Meaning | Unit | Default | Allowed |",
      "| --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n");
  });
  return [REFERENCE_START, "", sections.join("\n\n"), "", REFERENCE_END].join("\n");
}

function rowsOf(node: JsonSchema, base: JsonSchema, prefix: string): string[] {
  return fieldsOf(node, base).flatMap((field) => {
    const path = `${prefix}${field.name}`;
    const allowed = field.pulumi.ref !== undefined ? `the \`ref\` output of ${refOwner(field.pulumi.ref)}` : rangeOf(field.node);
    const fallback = field.pulumi.omit ? "the resource name" : defaultOf(field);
    const row = `| \`${path}\` | ${typeName(field)} | ${cell(String(field.node.description ?? ""))} | ${unitOf(field.node)} | ${fallback} | ${cell(allowed)} |`;
    return isNested(field) ? [row, ...rowsOf(field.node, field.base, `${path}.`)] : [row];
  });
}

function refOwner(ref: string): string {
  const owner = ref.replace(/Ref$/, "");
  const name = owner === "Pool" ? "GpuPool" : owner;
  return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
}

function typeName(field: Field): string {
  const { node, pulumi } = field;
  if (pulumi.ref !== undefined) {
    if (node.type === "array") return `${pulumi.ref}[]`;
    if (node.type === "object") return `map of ${pulumi.ref}`;
    return pulumi.ref;
  }
  if (pulumi.json) return "JSON";
  if (node.type === "array") {
    const items = node.items === undefined ? undefined : deref(node.items as JsonSchema, field.base).node;
    return `${items?.type ?? "JSON"}[]`;
  }
  if (node.type === "object" && !isNested(field)) return "map";
  return String(node.type ?? "JSON");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
