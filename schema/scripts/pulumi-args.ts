/**
 * Emits the Args interfaces of the Pulumi components from the spec schemas. They are plain interfaces
 * without unions or intersections so that Pulumi's schema inference accepts them; references to other
 * warmpool components are the `*Ref` outputs of those components (multi-language safe, unlike
 * resource references to components); fields marked `x-pulumi.input` take Outputs.
 */
import { SPEC_KINDS, SPEC_SCHEMAS, type JsonSchema } from "../src/specs";
import { defaultOf, fieldsOf, isNested, pascal, rangeOf, unitOf, type Field } from "./fields";

const REF_MODULE = "../refs";

export function pulumiArgs(): string {
  const interfaces: string[] = [];
  const refs = new Set<string>();
  for (const kind of SPEC_KINDS) emitInterface(`${kind}Args`, SPEC_SCHEMAS[kind], SPEC_SCHEMAS[kind], kind, interfaces, refs);
  return [
    "// Generated from schema/specs by `npm run generate`. DO NOT EDIT.",
    'import type * as pulumi from "@pulumi/pulumi";',
    `import type { ${[...refs].sort().join(", ")} } from "${REF_MODULE}";`,
    "",
    interfaces.join("\n\n"),
    "",
  ].join("\n");
}

function emitInterface(name: string, node: JsonSchema, base: JsonSchema, owner: string, out: string[], refs: Set<string>): void {
  const lines = [...doc(String(node.description ?? ""), ""), `export interface ${name} {`];
  for (const field of fieldsOf(node, base)) {
    if (field.pulumi.omit) continue;
    const type = typeOf(field, owner, out, refs);
    const optional = field.required ? "" : "?";
    lines.push(...doc(fieldDoc(field), "  "), `  ${field.name}${optional}: ${type};`);
  }
  lines.push("}");
  out.push(lines.join("\n"));
}

function typeOf(field: Field, owner: string, out: string[], refs: Set<string>): string {
  const { node, pulumi } = field;
  if (pulumi.json) return "any";
  if (pulumi.ref !== undefined) {
    refs.add(pulumi.ref);
    const ref = `pulumi.Input<${pulumi.ref}>`;
    if (node.type === "array") return `${ref}[]`;
    if (node.type === "object") return `{ [key: string]: ${ref} }`;
    return ref;
  }
  if (isNested(field)) {
    const nested = `${owner}${pascal(field.defName ?? field.name)}Args`;
    if (!out.some((text) => text.includes(`export interface ${nested} {`))) {
      emitInterface(nested, node, field.base, owner, out, refs);
    }
    return nested;
  }
  const plain = scalar(node);
  if (pulumi.secret && node.type === "object") return "{ [key: string]: pulumi.Input<string> }";
  if (!pulumi.input) return plain;
  // Arrays of inputs rather than an input array: the length stays plain, so that per-item
  // resources (one mount target per subnet) are created outside any apply.
  if (node.type === "array") return `pulumi.Input<${scalar((node.items as JsonSchema | undefined) ?? {})}>[]`;
  return `pulumi.Input<${plain}>`;
}

function scalar(node: JsonSchema): string {
  switch (node.type) {
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "array":
      return `${scalar((node.items as JsonSchema | undefined) ?? {})}[]`;
    case "object":
      return `{ [key: string]: ${scalar((node.additionalProperties as JsonSchema | undefined) ?? {})} }`;
    default:
      return "any";
  }
}

function fieldDoc(field: Field): string {
  const facts = [
    unitOf(field.node) && `Unit: ${unitOf(field.node)}.`,
    defaultOf(field) && defaultOf(field) !== "required" && `Default: ${defaultOf(field).replace(/`/g, "")}.`,
    !field.pulumi.ref && rangeOf(field.node) && `Allowed: ${rangeOf(field.node).replace(/`/g, "")}.`,
  ].filter(Boolean);
  return [String(field.node.description ?? ""), ...facts].join(" ");
}

function doc(text: string, indent: string): string[] {
  if (text === "") return [];
  return [`${indent}/** ${text.replace(/\*\//g, "*\\/")} */`];
}
