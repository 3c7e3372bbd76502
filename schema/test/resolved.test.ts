/**
 * The resolved spec types (src/generated/resolved.ts) promise that every field with a default is
 * present in what checkSpec returns. This holds them to it at run time: for the smallest valid spec of
 * each kind, every field the generator marks as always present is there.
 */
import { checkSpec, type SpecKind } from "../src";
import { filledFields } from "../scripts/resolved";

const SMALLEST: Partial<Record<SpecKind, object>> = {
  Runtime: {},
  App: { name: "chat" },
  Function: { app: "chat", name: "llm", handler: "serve:generate" },
  GpuPool: { name: "pool", gpu: "H100", kind: "karpenter", karpenter: { nodeRole: "role", discoveryTag: "tag" } },
  Volume: { app: "chat", name: "models" },
  Secret: { app: "chat", name: "keys", values: { API_KEY: "x" } },
  Schedule: { app: "chat", name: "nightly", function: "llm", every: "1d" },
  Endpoint: { app: "chat", name: "api", function: "llm" },
};

describe("resolved spec types", () => {
  for (const [kind, input] of Object.entries(SMALLEST) as Array<[SpecKind, object]>) {
    it(`${kind}: every field marked as always present is filled by checkSpec`, () => {
      const result = checkSpec(kind, input);
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      const missing = filledFields(kind).filter((p) => p.split(".").reduce<unknown>((at, k) => (at as Record<string, unknown> | undefined)?.[k], result.spec) === undefined);
      expect(missing).toEqual([]);
    });
  }

  it("marks the derived defaults as always present", () => {
    expect(filledFields("Function")).toEqual(expect.arrayContaining(["startupTimeout", "concurrency.targetInputs", "retries.maxDelay", "autoscaler.scaledownWindow"]));
    expect(filledFields("Endpoint")).toEqual(expect.arrayContaining(["methods", "path", "maxPendingRequests", "syncTimeout"]));
  });
});
