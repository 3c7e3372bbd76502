/**
 * Environment promotion: `pulumi up -s dev` deploys the images CI pinned in Pulumi.dev.yaml;
 * `pulumi up -s prod` deploys exactly the digests (and warmpool version) the dev stack reports.
 */
import * as pulumi from "@pulumi/pulumi";
import * as warmpool from "warmpool";
import { source } from "./promotion";

const config = new pulumi.Config();
// The stack is the environment unless said otherwise (e.g. a stack named prod-eu).
const environment = config.get("environment") ?? pulumi.getStack();
const runtimeNamespace = config.require("runtimeNamespace");
const { images, promotedFrom } = source(config, warmpool.version);

new warmpool.Runtime("warmpool", { namespace: runtimeNamespace, installCrds: config.getBoolean("installCrds") ?? environment === "dev" });
const app = new warmpool.App("chat", { environment, runtimeNamespace });

new warmpool.Function("llm", {
  app: app.ref,
  image: images.apply((i) => i.llm!),
  handler: "chat.server:Model.generate",
  gpu: "H100",
  autoscaler: { minContainers: 0, maxContainers: environment === "prod" ? 8 : 2, bufferContainers: environment === "prod" ? 1 : 0 },
  concurrency: { maxInputs: 8, targetInputs: 6 },
});
new warmpool.Function("embed", {
  app: app.ref,
  image: images.apply((i) => i.embed!),
  handler: "chat.embeddings:embed",
  gpu: "L4",
  batching: { maxBatchSize: 64, waitMs: 20 },
});

export const warmpoolVersion = warmpool.version;
export { images, promotedFrom };
export const namespace = app.namespace;
