/**
 * Validates a spec against its JSON Schema with ajv and turns ajv's errors into Problems that name
 * the field, the bad value and what is allowed. Every problem is reported, not only the first.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describeAllowed } from "./allowed";
import { dedupe, joinPath, type Problem } from "./problems";
import { deref } from "./refs";
import { didYouMean } from "./suggest";
import { SHARED_SCHEMAS, SPEC_KINDS, SPEC_SCHEMAS, type JsonSchema, type SpecKind } from "./specs";

/** Annotations of ours that ajv should accept and ignore. */
const ANNOTATIONS = ["x-unit", "x-allowed", "x-allowed-keys", "x-pulumi"];

function compileAll(): Record<SpecKind, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, useDefaults: true, strict: true, strictTypes: false });
  addFormats(ajv);
  ajv.addVocabulary(ANNOTATIONS);
  for (const schema of SHARED_SCHEMAS) ajv.addSchema(schema);
  const compiled = {} as Record<SpecKind, ValidateFunction>;
  for (const kind of SPEC_KINDS) compiled[kind] = ajv.compile(SPEC_SCHEMAS[kind]);
  return compiled;
}

let validators: Record<SpecKind, ValidateFunction> | undefined;

/**
 * Checks `spec` (which it fills with schema defaults, in place) and returns its problems.
 */
export function schemaProblems(kind: SpecKind, spec: unknown): Problem[] {
  validators ??= compileAll();
  const validate = validators[kind];
  if (validate(spec)) return [];
  return dedupe((validate.errors ?? []).flatMap(toProblem));
}

function toProblem(error: ErrorObject): Problem[] {
  const path = pointerToPath(error.instancePath);
  const node = error.parentSchema as JsonSchema | undefined;
  const params = error.params as Record<string, unknown>;
  // ajv repeats a propertyNames failure once for the name's own check; the parent error says it all.
  if (error.propertyName !== undefined && error.keyword !== "propertyNames") return [];
  switch (error.keyword) {
    case "required":
      return [{ path: joinPath(path, String(params.missingProperty)), value: undefined, message: "is required" }];
    case "additionalProperties": {
      const known = Object.keys((node?.properties as object | undefined) ?? {});
      const field = String(params.additionalProperty);
      const data = error.data as Record<string, unknown>;
      return [{ path: joinPath(path, field), value: data[field], message: `is not a field here${didYouMean(field, known)} (allowed: ${known.join(", ")})` }];
    }
    case "propertyNames": {
      const key = String(params.propertyName);
      const names = node?.propertyNames === undefined ? undefined : deref(node.propertyNames as JsonSchema, node).node;
      const allowed = (node?.["x-allowed-keys"] as string | undefined) ?? describeAllowed(names);
      return [{ path: joinPath(path, key), value: undefined, message: `is not an allowed key (allowed: ${allowed})` }];
    }
    case "uniqueItems":
      return [{ path, value: error.data, message: `must not repeat items (items ${params.j} and ${params.i} are equal)` }];
    case "minItems":
      return [{ path, value: error.data, message: `must have at least ${params.limit} item(s)` }];
    case "maxItems":
      return [{ path, value: error.data, message: `must have at most ${params.limit} items` }];
    default: {
      const allowed = describeAllowed(node);
      return [{ path, value: error.data, message: allowed === "" ? String(error.message) : `must be ${allowed}` }];
    }
  }
}

function pointerToPath(pointer: string): string {
  if (pointer === "") return "";
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<string>((path, part) => (/^\d+$/.test(part) ? joinPath(path, Number(part)) : joinPath(path, part)), "");
}
