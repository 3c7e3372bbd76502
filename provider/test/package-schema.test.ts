/**
 * The components survive Pulumi's schema inference — the step that makes them usable from Python,
 * Go, .NET and YAML — with every argument documented and references typed as refs.
 */
import { join } from "node:path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema } from "@pulumi/pulumi/provider/experimental/schema";
import { SPEC_KINDS } from "@warmpool/schema";

const dir = join(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const packageJson = require("../package.json");

describe("inferred package schema", () => {
  const analysis = new Analyzer(dir, "warmpool", packageJson, new Set<string>(SPEC_KINDS)).analyze();
  const schema = generateSchema("warmpool", packageJson.version, packageJson.description, analysis.components, analysis.typeDefinitions, analysis.dependencies) as any;

  it("has every component under warmpool:index", () => {
    expect(Object.keys(schema.resources).sort()).toEqual(SPEC_KINDS.map((k) => `warmpool:index:${k}`).sort());
    for (const resource of Object.values<any>(schema.resources)) expect(resource.isComponent).toBe(true);
  });

  it("documents every input", () => {
    const undocumented = Object.entries<any>(schema.resources).flatMap(([type, resource]) =>
      Object.entries<any>(resource.inputProperties ?? {})
        .filter(([, p]) => !p.description)
        .map(([name]) => `${type}.${name}`),
    );
    expect(undocumented).toEqual([]);
  });

  it("types references to other components as their refs, and keeps shape-deciding fields plain", () => {
    const fn = schema.resources["warmpool:index:Function"].inputProperties;
    expect(fn.app.$ref).toBe("#/types/warmpool:index:AppRef");
    expect(fn.pool.$ref).toBe("#/types/warmpool:index:PoolRef");
    expect(fn.secrets.items.$ref).toBe("#/types/warmpool:index:SecretRef");
    expect(fn.volumes.additionalProperties.$ref).toBe("#/types/warmpool:index:VolumeRef");
    expect(fn.gpu).toMatchObject({ type: "string", plain: true });
    expect(fn.image.plain).toBeUndefined();
    expect(schema.resources["warmpool:index:Runtime"].properties.apiToken.type).toBe("string");
    expect(schema.resources["warmpool:index:Schedule"].inputProperties.function.$ref).toBe("#/types/warmpool:index:FunctionRef");
  });
});
