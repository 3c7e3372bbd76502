/**
 * How a kubernetes scale-down removes the Pod it chose (backends/kubernetes/pods.ts `removal`): through
 * the ReplicaSet (lowest pod-deletion-cost) only when no other Pod ranks before it in the ReplicaSet's
 * order (unscheduled, Pending, not Ready), else by deleting the chosen Pod itself.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { removal } from "../src/backends/kubernetes/pods";

function pod(node: string | undefined, phase: string, ready: boolean): V1Pod {
  return {
    spec: { containers: [], ...(node === undefined ? {} : { nodeName: node }) },
    status: { phase, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

describe("removal", () => {
  it.each([
    ["no other Pod", [], "mark"],
    ["every other Pod scheduled, Running and Ready", [pod("n1", "Running", true), pod("n2", "Running", true)], "mark"],
    ["one unscheduled (a start just asked for)", [pod("n1", "Running", true), pod(undefined, "Pending", false)], "delete"],
    ["one Pending on a node (image, sandbox)", [pod("n1", "Pending", false)], "delete"],
    ["one Running but not Ready (starting, or a busy worker's probe timed out)", [pod("n1", "Running", true), pod("n1", "Running", false)], "delete"],
  ] as const)("%s: %s", (_what, others, expected) => {
    expect(removal(others as readonly V1Pod[])).toBe(expected);
  });
});
