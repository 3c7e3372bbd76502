/**
 * examples/promotion: prod deploys the digests the dev stack reports, and only digests.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkDigests } from "../../examples/promotion/promotion";
import { render } from "./render";

const devImages = {
  llm: `registry.example.com/chat/llm@sha256:${"a".repeat(64)}`,
  embed: `registry.example.com/chat/embed@sha256:${"b".repeat(64)}`,
};

describe("examples/promotion", () => {
  it("prod runs exactly the images the dev stack ran", async () => {
    const out = await render(
      () => {
        pulumi.runtime.setAllConfig({
          "warmpool-test:promoteFrom": "organization/warmpool-promotion/dev",
          "warmpool-test:runtimeNamespace": "warmpool-prod",
          "warmpool-test:environment": "prod",
        });
        jest.isolateModules(() => require("../../examples/promotion/index"));
      },
      false,
      (type, inputs) => (type === "pulumi:pulumi:StackReference" ? { ...inputs, outputs: { images: devImages, warmpoolVersion: "0.1.0" } } : inputs),
    );
    expect(out.one("pulumi:pulumi:StackReference").inputs.name).toBe("organization/warmpool-promotion/dev");
    const images = Object.fromEntries(
      out
        .ofType("kubernetes:apps/v1:Deployment")
        .filter((d) => d.inputs.metadata.namespace === "chat-prod")
        .map((d) => [d.inputs.metadata.name, d.inputs.spec.template.spec.containers[0].image]),
    );
    expect(images).toEqual(devImages);
    expect(out.ofType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")).toEqual([]);
  });

  it("refuses images that are not pinned by digest", () => {
    expect(() => checkDigests({ llm: "registry.example.com/chat/llm:latest" }, "config images")).toThrow(
      "config images: images must be pinned by digest (repo@sha256:<64 hex>): llm=registry.example.com/chat/llm:latest",
    );
    expect(checkDigests(devImages, "dev")).toEqual(devImages);
  });
});
