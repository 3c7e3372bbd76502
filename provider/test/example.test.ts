/**
 * The TypeScript ops example constructs under mocks with the config an ops repo would set.
 */
import * as pulumi from "@pulumi/pulumi";
import { render } from "./render";

describe("examples/ops-typescript", () => {
  it("declares GPU capacity, the runtime and the chat app", async () => {
    const out = await render(() => {
      pulumi.runtime.setAllConfig(
        {
          "warmpool-test:environment": "prod",
          "warmpool-test:clusterName": "prod-eks",
          "warmpool-test:nodeRoleArn": "arn:aws:iam::123456789012:role/gpu-nodes",
          "warmpool-test:subnetIds": JSON.stringify(["subnet-a", "subnet-b"]),
          "warmpool-test:efsSecurityGroupId": "sg-nfs",
          "warmpool-test:hfToken": "hf_secret",
        },
        ["warmpool-test:hfToken"],
      );
      jest.isolateModules(() => require("../../examples/ops-typescript/index"));
    });
    const functions = out.ofType("kubernetes:warmpool.dev/v1alpha1:Function").map((f) => f.inputs.spec);
    const llm = functions.find((f) => f.name === "llm");
    expect(llm).toMatchObject({
      app: "chat",
      gpu: "H100",
      pool: "h100",
      secrets: ["huggingface"],
      volumes: { "/models": "weights" },
      autoscaler: { minContainers: 0, maxContainers: 4, bufferContainers: 1 },
      concurrency: { maxInputs: 8, targetInputs: 6 },
    });
    expect(functions.find((f) => f.name === "embed")).toMatchObject({ batching: { maxBatchSize: 64, waitMs: 20 } });
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Schedule").inputs.spec).toMatchObject({ cron: "30 2 * * *", timezone: "America/New_York" });
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Endpoint", "chat-api-endpoint").inputs.spec).toMatchObject({ function: "llm", path: "/v1/chat" });
    expect(out.one("kubernetes:warmpool.dev/v1alpha1:Endpoint", "chat-ui-endpoint").inputs.spec).toMatchObject({ function: "ui", kind: "webServer", port: 8080 });
    const ui = out.one("kubernetes:apps/v1:Deployment", "ui-worker").inputs.spec.template.spec.containers[0];
    expect(ui.env).toContainEqual({ name: "WARMPOOL_WEB_PORT", value: "8080" });
    expect(ui.ports).toContainEqual({ name: "web", containerPort: 8080, protocol: "TCP" });
    expect(out.one("aws:eks/nodeGroup:NodeGroup").inputs).toMatchObject({ clusterName: "prod-eks", instanceTypes: ["p5.4xlarge", "p5.48xlarge"] });
    expect(out.one("aws:efs/fileSystem:FileSystem").inputs.encrypted).toBe(true);
    expect(out.ofType("aws:efs/mountTarget:MountTarget")).toHaveLength(2);
    expect(
      out
        .ofType("kubernetes:core/v1:Namespace")
        .map((n) => n.inputs.metadata.name)
        .sort(),
    ).toEqual(["chat-prod", "warmpool-system"]);
    expect(JSON.stringify(out.registered.filter((r) => r.type !== "kubernetes:core/v1:Secret"))).not.toContain("hf_secret");
  });
});
