/**
 * The root Pulumi.yaml declares only warmpool components, and each one's arguments pass the same
 * validation the components run (references to other resources stand in as valid names, config
 * references take the config's defaults).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkSpec, SPEC_KINDS, type SpecKind } from "@warmpool/schema";
import { parse } from "yaml";
import { PENDING_REF } from "../src/spec";

interface Program {
  config: Record<string, { default?: unknown; secret?: boolean }>;
  resources: Record<string, { type: string; properties?: Record<string, unknown> }>;
}

const program = parse(readFileSync(join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as Program;

function substitute(value: unknown): unknown {
  if (typeof value === "string") {
    const match = /^\$\{([^}]+)\}$/.exec(value);
    if (match === null) return value;
    const config = program.config[match[1]!];
    return config?.default ?? PENDING_REF;
  }
  if (Array.isArray(value)) return value.map(substitute);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, substitute(inner)]));
  }
  return value;
}

describe("Pulumi.yaml", () => {
  const resources = Object.entries(program.resources);

  it("declares every component of the package", () => {
    expect(new Set(resources.map(([, r]) => r.type))).toEqual(new Set(SPEC_KINDS.map((kind) => `warmpool:index:${kind}`)));
  });

  it.each(resources)("%s has valid arguments", (name, resource) => {
    const kind = resource.type.replace("warmpool:index:", "") as SpecKind;
    const spec: Record<string, unknown> = { ...(substitute(resource.properties ?? {}) as object) };
    // Every spec but the Runtime's is named after its resource.
    if (kind !== "Runtime") spec.name = name;
    // Schedules and Endpoints name their App through their function's ref.
    if (kind === "Schedule" || kind === "Endpoint") spec.app = PENDING_REF;
    const result = checkSpec(kind, spec);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it("keeps secrets out of plain config", () => {
    expect(program.config.hfToken).toEqual({ type: "string", secret: true });
  });
});
