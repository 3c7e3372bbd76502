/**
 * The CRDs carry the spec schemas faithfully, in the structural form the API server accepts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { crdManifests } from "../src/crd";
import { deref } from "../src/refs";
import { SPEC_SCHEMAS, type JsonSchema } from "../src/specs";

type Node = Record<string, any>;

const crds = crdManifests() as Node[];
const specOf = (kind: string): Node => crds.find((c) => c.spec.names.kind === kind)!.spec.versions[0].schema.openAPIV3Schema.properties.spec;

/** Every (path, JSON Schema node, CRD node) pair, following $refs on the JSON Schema side. */
function pairs(schema: JsonSchema, base: JsonSchema, crd: Node, path = "spec"): [string, JsonSchema, Node][] {
  const { node, base: doc } = deref(schema, base);
  const out: [string, JsonSchema, Node][] = [[path, node, crd]];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    expect(crd.properties?.[name]).toBeDefined();
    out.push(...pairs(child, doc, crd.properties[name], `${path}.${name}`));
  }
  if (typeof node.items === "object") out.push(...pairs(node.items as JsonSchema, doc, crd.items, `${path}[]`));
  if (typeof node.additionalProperties === "object") out.push(...pairs(node.additionalProperties as JsonSchema, doc, crd.additionalProperties, `${path}{}`));
  return out;
}

describe("generated CRDs", () => {
  it("are the committed schema/crds/warmpool.dev.yaml", () => {
    const committed = parseAllDocuments(readFileSync(join(__dirname, "..", "crds", "warmpool.dev.yaml"), "utf8")).map((d) => d.toJS());
    expect(committed).toEqual(crds);
  });

  it.each(["Function", "Schedule", "Endpoint"])("%s: every field, type, bound, enum, pattern and default of the schema", (kind) => {
    const all = pairs(SPEC_SCHEMAS[kind as "Function"], SPEC_SCHEMAS[kind as "Function"], specOf(kind));
    expect(all.length).toBeGreaterThan(10);
    for (const [path, node, crd] of all) {
      const context = `${kind} ${path}`;
      if (node.type !== undefined) expect([context, crd.type]).toEqual([context, node.type]);
      for (const key of ["enum", "pattern", "default", "minimum", "maximum", "minItems", "maxItems", "maxLength", "required"]) {
        if (node[key] !== undefined) expect([context, key, crd[key]]).toEqual([context, key, node[key]]);
      }
      if (typeof node.exclusiveMinimum === "number") expect([context, crd.minimum, crd.exclusiveMinimum]).toEqual([context, node.exclusiveMinimum, true]);
    }
  });

  it("use only what a structural schema allows", () => {
    const offending: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== "object") return;
      const record = node as Node;
      if ("$ref" in record || "$defs" in record || "propertyNames" in record || "x-pulumi" in record) offending.push(`${path}: ${Object.keys(record).join(",")}`);
      if (record.uniqueItems === true) offending.push(`${path}: uniqueItems`);
      if (record.additionalProperties === false) offending.push(`${path}: additionalProperties false`);
      if (record.properties !== undefined && record.additionalProperties !== undefined) offending.push(`${path}: properties and additionalProperties`);
      for (const [key, value] of Object.entries(record)) walk(value, `${path}.${key}`);
    };
    for (const crd of crds) walk(crd.spec.versions[0].schema.openAPIV3Schema, crd.metadata.name);
    expect(offending).toEqual([]);
  });

  it("keep free-form arguments and have a status subresource and printer columns", () => {
    const schedule = specOf("Schedule");
    expect(schedule.properties.args).toMatchObject({ type: "array", items: { "x-kubernetes-preserve-unknown-fields": true } });
    expect(schedule.properties.kwargs).toMatchObject({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    for (const crd of crds) {
      const version = crd.spec.versions[0];
      expect(version.subresources).toEqual({ status: {} });
      expect(version.schema.openAPIV3Schema.properties.status.type).toBe("object");
      for (const column of version.additionalPrinterColumns) expect(column.jsonPath).toMatch(/^\.(spec|status|metadata)\./);
    }
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(["endpoints.warmpool.dev", "functions.warmpool.dev", "schedules.warmpool.dev"]);
  });
});
