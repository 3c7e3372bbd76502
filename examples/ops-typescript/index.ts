/**
 * Entry point of the ops program: reads the stack's config and declares the chat app.
 * `pulumi config set --secret hfToken ...` keeps the token encrypted in the stack file. Set
 * `clusterName` (with nodeRoleArn, subnetIds, efsSecurityGroupId) to buy GPU nodes and EFS on EKS;
 * leave it out to use the GPU nodes a cluster already has. Set `cpuOnly` (e.g. `pulumi config set --path
 * cpuOnly.scaledownWindow 10 && pulumi config set --path cpuOnly.reindexEvery 5s`) for a cluster without
 * GPUs: the same components, GPU fields dropped (what the end-to-end suite runs on its real node).
 */
import * as pulumi from "@pulumi/pulumi";
import { chat } from "./chat";

const config = new pulumi.Config();
const declared = chat({
  environment: config.get("environment") ?? "dev",
  image: config.get("image") ?? "registry.example.com/chat/server:1.4.0",
  hfToken: config.requireSecret("hfToken"),
  cpuOnly: config.getObject<{ scaledownWindow: number; reindexEvery: string }>("cpuOnly"),
  eks:
    config.get("clusterName") === undefined
      ? undefined
      : {
          clusterName: config.require("clusterName"),
          nodeRoleArn: config.require("nodeRoleArn"),
          subnetIds: config.requireObject<string[]>("subnetIds"),
          efsSecurityGroupId: config.require("efsSecurityGroupId"),
        },
});

export const agentUrl = declared.runtime.url;
export const apiToken = declared.runtime.apiToken;
export const namespace = declared.app.namespace;
export const chatPath = declared.api.gatewayPath;
export const gpuHourlyCostCeiling = declared.h100?.hourlyCostCeiling ?? 0;
