/**
 * Turns the JSON Schemas (draft 2020-12) into Kubernetes CRDs, whose openAPIV3Schema is a structural
 * OpenAPI 3.0 subset: no $ref, no uniqueItems, boolean exclusive bounds, no additionalProperties:false
 * (the API server prunes unknown fields instead), and free-form values marked to be preserved.
 */
import { deref, registry } from "./refs";
import { SPEC_SCHEMAS, type JsonSchema } from "./specs";

export const CRD_GROUP = "warmpool.dev";
export const CRD_VERSION = "v1alpha1";

/** Keywords the API server accepts in a structural schema, in the order they are written. */
const KEPT = [
  "description",
  "type",
  "format",
  "enum",
  "default",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "properties",
  "additionalProperties",
  "items",
];

/** Converts one schema node (with its document, for local refs) to its structural form. */
export function toStructural(node: JsonSchema, base: JsonSchema): JsonSchema {
  const { node: merged, base: doc } = deref(node, base);
  const out: JsonSchema = {};
  for (const key of KEPT) {
    const value = merged[key];
    if (value === undefined) continue;
    if (key === "properties") {
      out.properties = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, toStructural(child, doc)]));
    } else if (key === "additionalProperties") {
      if (typeof value === "object") out.additionalProperties = toStructural(value as JsonSchema, doc);
    } else if (key === "items") {
      out.items = toStructural(value as JsonSchema, doc);
    } else {
      out[key] = value;
    }
  }
  if (typeof merged.exclusiveMinimum === "number") Object.assign(out, { minimum: merged.exclusiveMinimum, exclusiveMinimum: true });
  if (typeof merged.exclusiveMaximum === "number") Object.assign(out, { maximum: merged.exclusiveMaximum, exclusiveMaximum: true });
  if (out.type === undefined) out["x-kubernetes-preserve-unknown-fields"] = true;
  if (out.type === "array" && out.items === undefined) out.items = { "x-kubernetes-preserve-unknown-fields": true };
  if (out.type === "object" && out.properties === undefined && out.additionalProperties === undefined) {
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  return out;
}

interface CrdKind {
  kind: "Function" | "Schedule" | "Endpoint";
  plural: string;
  shortNames: string[];
  columns: { name: string; type: string; jsonPath: string; description: string }[];
}

const CRD_KINDS: CrdKind[] = [
  {
    kind: "Function",
    plural: "functions",
    shortNames: ["wpfn"],
    columns: [
      { name: "App", type: "string", jsonPath: ".spec.app", description: "App of the function" },
      { name: "GPU", type: "string", jsonPath: ".spec.gpu", description: "GPUs per container" },
      { name: "Min", type: "integer", jsonPath: ".spec.autoscaler.minContainers", description: "Warm floor" },
      { name: "Max", type: "integer", jsonPath: ".spec.autoscaler.maxContainers", description: "Container ceiling" },
      { name: "Replicas", type: "integer", jsonPath: ".status.replicas", description: "Containers wanted" },
      { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas", description: "Containers ready" },
      { name: "Queue", type: "integer", jsonPath: ".status.queueDepth", description: "Inputs waiting" },
      { name: "Reason", type: "string", jsonPath: ".status.lastScaleReason", description: "Last scale decision" },
      { name: "Degraded", type: "string", jsonPath: '.status.conditions[?(@.type=="Degraded")].status', description: "Container starts fail (its message: the last error)" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "" },
    ],
  },
  {
    kind: "Schedule",
    plural: "schedules",
    shortNames: ["wpsched"],
    columns: [
      { name: "Function", type: "string", jsonPath: ".spec.function", description: "Target function" },
      { name: "Cron", type: "string", jsonPath: ".spec.cron", description: "Cron expression" },
      { name: "Every", type: "string", jsonPath: ".spec.every", description: "Period" },
      { name: "Timezone", type: "string", jsonPath: ".spec.timezone", description: "IANA timezone" },
      { name: "Last", type: "date", jsonPath: ".status.lastRun", description: "Last firing" },
      { name: "Next", type: "string", jsonPath: ".status.nextRun", description: "Next firing" },
    ],
  },
  {
    kind: "Endpoint",
    plural: "endpoints",
    shortNames: ["wpep"],
    columns: [
      { name: "Function", type: "string", jsonPath: ".spec.function", description: "Target function" },
      { name: "Kind", type: "string", jsonPath: ".spec.kind", description: "function or webServer" },
      { name: "Path", type: "string", jsonPath: ".spec.path", description: "Path prefix" },
      { name: "Public", type: "boolean", jsonPath: ".spec.public", description: "Served without a token" },
      { name: "URL", type: "string", jsonPath: ".status.url", description: "Where it is served" },
    ],
  },
];

/** The CustomResourceDefinitions of the warmpool.dev group, generated from the spec schemas. */
export function crdManifests(): JsonSchema[] {
  const status = registry.get("status.json")!;
  return CRD_KINDS.map(({ kind, plural, shortNames, columns }) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${CRD_GROUP}` },
    spec: {
      group: CRD_GROUP,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames, categories: ["warmpool"] },
      scope: "Namespaced",
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns.map((c) => (c.description === "" ? { name: c.name, type: c.type, jsonPath: c.jsonPath } : c)),
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: String(SPEC_SCHEMAS[kind].description),
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructural(SPEC_SCHEMAS[kind], SPEC_SCHEMAS[kind]),
                status: toStructural({ $ref: `#/$defs/${kind}Status` }, status),
              },
            },
          },
        },
      ],
    },
  }));
}
