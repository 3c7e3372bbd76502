/**
 * The shared validator: defaults, derived defaults, messages, and invariants over generated specs.
 */
import fc from "fast-check";
import { checkSpec, parseSpec, SpecError, type FunctionSpec } from "../src";

const base = { app: "chat", name: "llm", handler: "serve:generate" };

describe("checkSpec", () => {
  it("fills Modal's defaults, and those derived from other fields", () => {
    const result = checkSpec("Function", { ...base, timeout: 120, concurrency: { maxInputs: 4 } });
    expect(result).toEqual({
      ok: true,
      spec: {
        ...base,
        runtime: "python",
        gpuFallbacks: [],
        cpu: 0.125,
        memory: 128,
        timeout: 120,
        startupTimeout: 120,
        retries: { maxRetries: 0, backoffCoefficient: 2, initialDelay: 1, maxDelay: 60 },
        secrets: [],
        volumes: {},
        env: {},
        serialization: "json",
        autoscaler: { minContainers: 0, maxContainers: 10, bufferContainers: 0, scaledownWindow: 60, maxConcurrentStarts: 4 },
        concurrency: { maxInputs: 4, targetInputs: 4 },
      },
    });
  });

  it("leaves its input untouched", () => {
    const input = { ...base };
    checkSpec("Function", input);
    expect(input).toEqual(base);
  });

  it("reads explicit undefined as absent, as other SDKs send it", () => {
    expect(checkSpec("Function", { ...base, gpu: undefined }).ok).toBe(true);
  });

  it("throws one SpecError naming the subject with parseSpec", () => {
    expect(() => parseSpec("Function", { ...base, timeout: -5 }, "quickstart.yaml: functions.llm")).toThrow(
      new SpecError("quickstart.yaml: functions.llm", [{ path: "timeout", value: -5, message: "must be an integer from 1 to 86400 s" }]),
    );
  });

  it("reports a missing required field and a wrong type", () => {
    const result = checkSpec("Function", { app: "chat", name: "llm", memory: "lots" });
    expect(result.ok ? [] : result.problems).toEqual([
      { path: "handler", value: undefined, message: "is required" },
      { path: "memory", value: "lots", message: "must be an integer from 64 to 2097152 MiB" },
    ]);
  });

  it("accepts every autoscaler and concurrency combination Modal accepts, and only those", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (min, max, buffer, maxInputs, target) => {
          const result = checkSpec("Function", { ...base, autoscaler: { minContainers: min, maxContainers: max, bufferContainers: buffer }, concurrency: { maxInputs, targetInputs: target } });
          const consistent = min <= max && buffer <= max && target <= maxInputs;
          expect(result.ok).toBe(consistent);
          if (result.ok) {
            const spec = result.spec as FunctionSpec;
            expect(spec.concurrency?.targetInputs).toBeLessThanOrEqual(spec.concurrency!.maxInputs);
          }
        },
      ),
    );
  });

  it("accepts a GPU request exactly when the catalog sells that count", () => {
    const sold: Record<string, number[]> = { H100: [1, 2, 4, 8], A10G: [1, 2, 4], T4: [1, 2, 4, 8] };
    fc.assert(
      fc.property(fc.constantFrom("H100", "A10G", "T4"), fc.integer({ min: 1, max: 99 }), (type, count) => {
        expect(checkSpec("Function", { ...base, gpu: `${type}:${count}` }).ok).toBe(sold[type]!.includes(count));
      }),
    );
  });

  it("validates schedules in their timezone and rejects impossible cron fields", () => {
    expect(checkSpec("Schedule", { app: "a", name: "s", function: "f", cron: "0 2 * * 1-5", timezone: "Asia/Kolkata" }).ok).toBe(true);
    expect(checkSpec("Schedule", { app: "a", name: "s", function: "f", cron: "0 25 * * *" }).ok).toBe(false);
    expect(checkSpec("Schedule", { app: "a", name: "s", function: "f", every: "90s" }).ok).toBe(true);
  });
});
