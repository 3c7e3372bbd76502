/**
 * "Did you mean": which known name a mistyped one is taken for, and when none is suggested.
 */
import { closest, editDistance } from "../src/suggest";

const FUNCTION_FIELDS = [
  "app",
  "name",
  "image",
  "handler",
  "runtime",
  "gpu",
  "gpuFallbacks",
  "cpu",
  "memory",
  "timeout",
  "startupTimeout",
  "retries",
  "secrets",
  "volumes",
  "env",
  "webPort",
  "autoscaler",
  "concurrency",
  "batching",
  "pool",
];

describe("closest", () => {
  const CASES: Array<[string, string, readonly string[], string | undefined]> = [
    ["a letter missing", "autoscalr", FUNCTION_FIELDS, "autoscaler"],
    ["a letter too many", "gpus", FUNCTION_FIELDS, "gpu"],
    ["two letters swapped", "memroy", FUNCTION_FIELDS, "memory"],
    ["another case", "WebPort", FUNCTION_FIELDS, "webPort"],
    ["a function name", "squre", ["square", "greet", "embed"], "square"],
    ["too far from anything", "replicas", FUNCTION_FIELDS, undefined],
    ["a short name one edit away", "gp", ["cpu", "gpu"], "gpu"],
    ["a short name two edits away: none", "cp", ["gpu", "tpu"], undefined],
    ["two equally close: neither", "cat", ["car", "cap"], undefined],
    ["nothing to choose from", "x", [], undefined],
  ];
  it.each(CASES)("%s (%s)", (_name, typed, candidates, expected) => {
    expect(closest(typed, candidates)).toBe(expected);
  });
});

describe("editDistance", () => {
  it.each([
    ["kitten", "sitting", 3],
    ["abc", "acb", 1],
    ["", "abc", 3],
    ["same", "same", 0],
  ] as const)("%s → %s: %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});
