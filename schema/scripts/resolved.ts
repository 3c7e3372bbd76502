/**
 * Emits the resolved spec types: each spec as checkSpec returns it, where every field with a default
 * (the schema's `default`, or DERIVED_DEFAULTS) is present. They extend the generated spec types, so a
 * resolved spec is still a spec; code that reads a defaulted field needs no `??` of its own.
 *
 *   export interface ResolvedFunctionSpec extends FunctionSpec {
 *     timeout: NonNullable<FunctionSpec["timeout"]>;
 *     retries: ResolvedFunctionSpecRetries;      // an object with defaults of its own
 *     ...
 */
import { DERIVED_DEFAULTS } from "../src/derived";
import { SPEC_KINDS, SPEC_SCHEMAS, type JsonSchema, type SpecKind } from "../src/specs";
import { fieldsOf, pascal } from "./fields";

export function resolvedTypes(): string {
  const out: string[] = [];
  const roots: string[] = [];
  for (const kind of SPEC_KINDS) {
    const schema = SPEC_SCHEMAS[kind];
    const title = String(schema.title);
    roots.push(title);
    emit(`Resolved${title}`, title, schema, schema, derivedOf(kind), `${title} as checkSpec returns it: every field with a default is present.`, out);
  }
  return ["// Generated from schema/specs by `npm run generate`. DO NOT EDIT.", `import type { ${roots.sort().join(", ")} } from "./specs";`, "", out.join("\n\n"), ""].join("\n");
}

/** The fields a resolved spec of `kind` always has, as dotted paths (what checkSpec fills). */
export function filledFields(kind: SpecKind): string[] {
  const schema = SPEC_SCHEMAS[kind];
  return walk(schema, schema, derivedOf(kind), "");
}

function derivedOf(kind: SpecKind): string[] {
  return (DERIVED_DEFAULTS[kind] ?? []).map((d) => d.field);
}

function hasDefault(node: JsonSchema): boolean {
  return node.default !== undefined;
}

function walk(node: JsonSchema, base: JsonSchema, derived: readonly string[], prefix: string): string[] {
  const out: string[] = [];
  for (const f of fieldsOf(node, base)) {
    const path = `${prefix}${f.name}`;
    const always = f.required || hasDefault(f.node) || derived.includes(path);
    if (always && !f.required) out.push(path);
    // Inside an object that is always there, its own defaults are filled too.
    if (always && f.node.properties !== undefined) out.push(...walk(f.node, f.base, derived, `${path}.`));
  }
  return out;
}

/** One resolved interface (and those of its nested objects); a type alias when nothing is filled. */
function emit(name: string, type: string, node: JsonSchema, base: JsonSchema, derived: readonly string[], about: string, out: string[]): void {
  const lines: string[] = [];
  for (const f of fieldsOf(node, base)) {
    const always = f.required || hasDefault(f.node) || derived.includes(f.name);
    const inner = derived.filter((d) => d.startsWith(`${f.name}.`)).map((d) => d.slice(f.name.length + 1));
    // An object with defaults of its own gets them wherever it is given, so an optional one is resolved too.
    if (f.node.properties !== undefined && walk(f.node, f.base, inner, "").length > 0) {
      const child = `${name}${pascal(f.name)}`;
      emit(child, `NonNullable<${type}["${f.name}"]>`, f.node, f.base, inner, `\`${f.name}\` of ${name}.`, out);
      lines.push(`  ${f.name}${always ? "" : "?"}: ${child};`);
    } else if (always && !f.required) lines.push(`  ${f.name}: NonNullable<${type}["${f.name}"]>;`);
  }
  const doc = `/** ${about} */`;
  out.push(lines.length === 0 ? `${doc}\nexport type ${name} = ${type};` : `${doc}\nexport interface ${name} extends ${type} {\n${lines.join("\n")}\n}`);
}
