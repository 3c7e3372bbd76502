/**
 * Every policy the benchmark knows, in report order. Issue 15's "warmpool-after" is one more entry: a
 * Policy (../policy.ts) whose decide() is the new decide() with the estimates of the observation, on
 * the agent's triggers (AGENT_EVALUATION, or its own if the runner changes), with `guards` for the
 * retry budget, breaker and idempotency keys.
 */
import type { Policy } from "../policy";
import { kpa } from "./kpa";
import { modal } from "./modal";
import { warmpoolAfter, warmpoolBefore } from "./warmpool";

export const POLICIES: readonly Policy[] = [warmpoolBefore, warmpoolAfter, kpa, modal];

/** The baseline every ratio is taken against. */
export const BASELINE = warmpoolBefore.name;

export function policiesNamed(names: readonly string[]): Policy[] {
  return names.map((name) => {
    const p = POLICIES.find((x) => x.name === name);
    if (p === undefined) throw new Error(`unknown policy ${JSON.stringify(name)}: known are ${POLICIES.map((x) => x.name).join(", ")}`);
    return p;
  });
}
