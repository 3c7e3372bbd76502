/**
 * Generates everything derived from schema/specs, or with --check fails when a committed copy has
 * drifted: spec types and their resolved forms (defaults filled), CRD manifests, the Pulumi Args interfaces and the README components reference.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile } from "json-schema-to-typescript";
import { stringify } from "yaml";
import { crdManifests } from "../src/crd";
import { SPEC_FILES, SPEC_KINDS } from "../src/specs";
import { pulumiArgs } from "./pulumi-args";
import { REFERENCE_END, REFERENCE_START, reference } from "./reference";
import { resolvedTypes } from "./resolved";

const schemaDir = join(__dirname, "..", "..");
const repo = join(schemaDir, "..");

async function specTypes(): Promise<string> {
  const root = {
    $id: "warmpool-specs",
    title: "WarmpoolSpecs",
    type: "object" as const,
    additionalProperties: false,
    properties: {
      ...Object.fromEntries(SPEC_KINDS.map((kind) => [kind, { $ref: SPEC_FILES[kind] }])),
      FunctionStatus: { $ref: "status.json#/$defs/FunctionStatus" },
      ScheduleStatus: { $ref: "status.json#/$defs/ScheduleStatus" },
      EndpointStatus: { $ref: "status.json#/$defs/EndpointStatus" },
    },
  };
  const body = await compile(root, "WarmpoolSpecs", {
    cwd: join(schemaDir, "specs"),
    bannerComment: "// Generated from schema/specs by `npm run generate`. DO NOT EDIT.",
    additionalProperties: false,
    strictIndexSignatures: false,
    format: false,
  });
  return body;
}

function crdYaml(): string {
  const header = "# Generated from schema/specs by `npm run generate`. DO NOT EDIT.\n";
  return (
    header +
    crdManifests()
      .map((crd) => `---\n${stringify(crd, { lineWidth: 0 })}`)
      .join("")
  );
}

function withReference(readme: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < 0) throw new Error(`README.md must contain the markers ${REFERENCE_START} and ${REFERENCE_END}`);
  return readme.slice(0, start) + reference() + readme.slice(end + REFERENCE_END.length);
}

async function main(): Promise<void> {
  const check = process.argv.includes("--check");
  const readmePath = join(repo, "README.md");
  const outputs: [string, string][] = [
    [join(schemaDir, "src", "generated", "specs.ts"), await specTypes()],
    [join(schemaDir, "src", "generated", "resolved.ts"), resolvedTypes()],
    [join(schemaDir, "crds", "warmpool.dev.yaml"), crdYaml()],
    [join(repo, "provider", "src", "generated", "args.ts"), pulumiArgs()],
    [readmePath, withReference(readFileSync(readmePath, "utf8"))],
  ];
  const drifted: string[] = [];
  for (const [path, content] of outputs) {
    let current: string | undefined;
    try {
      current = readFileSync(path, "utf8");
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    if (check) drifted.push(path.slice(repo.length + 1));
    else writeFileSync(path, content);
  }
  if (drifted.length > 0) {
    console.error(`Generated files drifted from schema/specs: ${drifted.join(", ")}\nRun \`npm run generate\` and commit the result.`);
    process.exit(1);
  }
  console.log(check ? "generated files are up to date" : "generated files written");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
