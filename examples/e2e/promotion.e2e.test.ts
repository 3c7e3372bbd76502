/**
 * Environment promotion with examples/promotion: `pulumi up` of the dev stack, then of the prod
 * stack on the same file backend, which reads dev's image digests through the StackReference
 * `organization/warmpool-promotion/dev`. Prod's worker Deployments must run exactly dev's digests,
 * each stack in its own namespaces; both destroy cleanly.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cluster, Project, REPO, eventually, toolchainBin } from "./harness";

const cluster = new Cluster(toolchainBin()!);
const project = new Project(join(REPO, "examples", "promotion"), cluster);
// `pulumi stack init` adds an encryption salt to the committed stack files: put them back after.
const stackFiles = ["dev", "prod"].map((stack) => join(project.dir, `Pulumi.${stack}.yaml`));
const committed = stackFiles.map((file) => readFileSync(file, "utf8"));

const workerImages = async (namespace: string) => {
  const deployments = await cluster.get("deployment", "-n", namespace);
  return Object.fromEntries(deployments.items.map((d: any) => [d.metadata.name, d.spec.template.spec.containers[0].image]));
};

beforeAll(async () => {
  await cluster.start();
  await cluster.addVolume("e2e-promotion-dev-state", "10Gi");
  await cluster.addVolume("e2e-promotion-prod-state", "10Gi");
  // The stacks' settings are the committed Pulumi.dev.yaml and Pulumi.prod.yaml.
  await project.must("stack", "init", "dev");
  await project.must("stack", "init", "prod");
}, 300_000);

afterAll(async () => {
  stackFiles.forEach((file, i) => writeFileSync(file, committed[i]!));
  await cluster.stop();
  project.cleanup();
}, 120_000);

describe("examples/promotion: dev, then prod with dev's digests", () => {
  let devImages: Record<string, string>;

  it("pulumi up -s dev deploys the digests pinned in Pulumi.dev.yaml", async () => {
    await project.must("up", "--yes", "--skip-preview", "-s", "dev");
    const outputs = JSON.parse(await project.must("stack", "output", "--json", "-s", "dev"));
    devImages = outputs.images;
    expect(Object.keys(devImages).sort()).toEqual(["embed", "llm"]);
    for (const image of Object.values(devImages)) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(await workerImages("chat-dev")).toEqual(devImages);
    expect(await cluster.exists("deployment", "warmpool-agent", "-n", "warmpool-dev")).toBe(true);
  }, 600_000);

  it("pulumi up -s prod runs exactly dev's digests in its own namespaces", async () => {
    await project.must("up", "--yes", "--skip-preview", "-s", "prod");
    const outputs = JSON.parse(await project.must("stack", "output", "--json", "-s", "prod"));
    expect(outputs).toMatchObject({ promotedFrom: "organization/warmpool-promotion/dev", images: devImages, namespace: "chat-prod" });
    expect(await workerImages("chat-prod")).toEqual(devImages);
    const llm = await cluster.get("functions.warmpool.dev", "llm", "-n", "chat-prod");
    expect(llm.spec).toMatchObject({ image: devImages.llm, autoscaler: { maxContainers: 8 } });
    expect((await cluster.get("functions.warmpool.dev", "llm", "-n", "chat-dev")).spec.autoscaler.maxContainers).toBe(2);
    expect(await cluster.exists("deployment", "warmpool-agent", "-n", "warmpool-prod")).toBe(true);
  }, 600_000);

  it("pulumi destroy of prod, then dev, leaves nothing behind", async () => {
    await project.must("destroy", "--yes", "--skip-preview", "-s", "prod");
    await project.must("destroy", "--yes", "--skip-preview", "-s", "dev");
    for (const namespace of ["chat-prod", "chat-dev", "warmpool-prod", "warmpool-dev"]) {
      await eventually(`namespace ${namespace} to be gone`, async () => ((await cluster.exists("namespace", namespace)) ? undefined : true), 120_000);
    }
    expect(await cluster.exists("crd", "functions.warmpool.dev")).toBe(false);
    for (const stack of ["prod", "dev"]) {
      const state = JSON.parse(await project.must("stack", "export", "-s", stack));
      expect(state.deployment.resources ?? []).toEqual([]);
    }
  }, 600_000);
});
