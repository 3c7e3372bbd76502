/**
 * Entry point of the kubernetes backend for `warmpool agent --backend kubernetes`: loads the
 * kubeconfig (a file when given, otherwise the in-cluster service account) and builds the backend and
 * the resource controller. Loaded only for that flag, so the local backend never loads the client.
 */
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubernetesBackend } from "./kubernetes";
import { ResourceController } from "./controller";

export { KubernetesBackend } from "./kubernetes";
export { ResourceController } from "./controller";

export interface KubernetesSetup {
  backend: KubernetesBackend;
  controller: ResourceController;
}

export function createKubernetes(options: { kubeconfig?: string; workerAddress?: string; log: Logger; authorization: (app: string) => string | undefined }): KubernetesSetup {
  const kc = new KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromCluster();
  const backend = new KubernetesBackend({ kc, log: options.log, authorization: options.authorization, ...(options.workerAddress === undefined ? {} : { workerAddress: options.workerAddress }) });
  const controller = new ResourceController({ kc, backend, log: options.log });
  return { backend, controller };
}
