/**
 * What an App's pods need to call the agent: its URL and the App's own token (never the admin token),
 * as the data of the Secret `warmpool-agent-access` that every worker container reads through
 * `envFrom`. Pulumi-free, so that agent/test/contract.test.ts checks that the agent accepts exactly
 * the token rendered here.
 */
import { WORKER_CLIENT_ENV, appToken } from "@warmpool/schema";
import { AGENT_NAME } from "./agent";

/** The Runtime's Service, as pods in any namespace reach it. */
export function defaultAgentUrl(runtimeNamespace: string): string {
  return `http://${AGENT_NAME}.${runtimeNamespace}.svc.cluster.local`;
}

export function agentAccessData(agentUrl: string, adminToken: string, app: string): Record<string, string> {
  return { [WORKER_CLIENT_ENV.url]: agentUrl, [WORKER_CLIENT_ENV.token]: appToken(adminToken, app) };
}
