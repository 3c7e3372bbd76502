/**
 * Least-privilege RBAC of the agent. Every rule is here with the reason it exists; README.md states
 * the same table. Write access is granted per App namespace (by the App component), so the agent can
 * change nothing outside the namespaces of the Apps it serves.
 */
import type * as k8s from "@pulumi/kubernetes";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

export const AGENT_SERVICE_ACCOUNT = "warmpool-agent";

/** Cluster-wide, read-only: find the Apps' namespaces and the specs declared in them. */
export const AGENT_CLUSTER_RULES: PolicyRule[] = [
  // Watch Function, Schedule and Endpoint specs in every App namespace.
  { apiGroups: ["warmpool.dev"], resources: ["functions", "schedules", "endpoints"], verbs: ["get", "list", "watch"] },
];

/** In each App namespace: scale the workers, observe their pods, report status. */
export const AGENT_APP_RULES: PolicyRule[] = [
  // Write status back so `kubectl get functions.warmpool.dev` shows replicas, queue and last scale reason.
  { apiGroups: ["warmpool.dev"], resources: ["functions/status", "schedules/status", "endpoints/status"], verbs: ["get", "update", "patch"] },
  // Find each function's worker Deployment.
  { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
  // Change the number of containers, and nothing else of the Deployment.
  { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "update", "patch"] },
  // See which containers are ready and route inputs to their pod IPs. Scale-down removes the idle
  // Pod it chose, never a busy one: patch marks it with the lowest pod-deletion-cost (the ReplicaSet
  // then removes it); delete removes it by UID while another Pod is starting (ranked first otherwise).
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "patch", "delete"] },
  // Record each scale decision as an Event on the Function.
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

/** In the Runtime namespace: elect one active agent when several replicas share PostgreSQL. */
export const AGENT_RUNTIME_RULES: PolicyRule[] = [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }];
