/**
 * A worker Pod whose container ended before it was ever ready (backends/kubernetes/pods.ts
 * `startFailure`): the kubelet restarts it in place, so the Pod lives on and only its container status
 * says so. The worker's START_FAILED_STATUS makes it deterministic (the pool fails the waiting inputs at
 * once with the traceback instead of waiting out startupTimeout), and the termination message (the
 * log's end, `FallbackToLogsOnError`) is the output the caller sees.
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { startFailure } from "../src/backends/kubernetes/pods";

function pod(worker: Partial<V1ContainerStatus>): V1Pod {
  return { status: { phase: "Running", containerStatuses: [{ name: "worker", image: "i", imageID: "", ready: false, restartCount: 1, ...worker }] } };
}

const traceback = "Traceback (most recent call last):\n  File \"/app/chat/broken.py\", line 1, in <module>\n    import nope\nModuleNotFoundError: No module named 'nope'\n";

describe("startFailure", () => {
  it("is nothing while the worker runs or waits to", () => {
    expect(startFailure(undefined)).toBeUndefined();
    expect(startFailure({ status: { phase: "Pending" } })).toBeUndefined();
    expect(startFailure(pod({ state: { running: { startedAt: new Date() } } }))).toBeUndefined();
    expect(startFailure(pod({ state: { waiting: { reason: "ContainerCreating" } } }))).toBeUndefined();
  });

  it("reads the worker's start failure from the last termination while the kubelet waits to restart it", () => {
    const p = pod({ state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 3, reason: "Error", message: traceback } } });
    expect(startFailure(p)).toEqual({
      message: "exited with status 3",
      deterministic: true,
      output: ["Traceback (most recent call last):", '  File "/app/chat/broken.py", line 1, in <module>', "    import nope", "ModuleNotFoundError: No module named 'nope'"],
    });
  });

  it("any other exit is a start failure worth another try, with the kubelet's reason", () => {
    expect(startFailure(pod({ state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }))).toEqual({ message: "exited with status 137 (OOMKilled)", deterministic: false, output: [] });
  });
});
