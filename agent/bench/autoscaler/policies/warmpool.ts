/**
 * warmpool's own rule, applied the way the agent applies it (autoscaler/runner.ts): evaluated on every
 * autoscaler tick (the agent's default, 1 s), at once when an input cannot be placed (`pressure`), and
 * when a container becomes ready or stops (`changed`).
 *
 * - `warmpool-before`: the frozen copy of today's decide() (decide-before.ts), the baseline that stays
 *   put when decide() changes.
 * - `warmpool-after`: decide() as the agent is built now, with the agent's guards (below).
 */
import { decide } from "../../../src/autoscaler/decide";
import { withDefaults } from "../../../src/config/options";
import { Breaker } from "../../../src/queue/breaker";
import { RetryBudget } from "../../../src/queue/retry-budget";
import type { CallGuards, Evaluation, Policy } from "../policy";
import { decide as decideBefore } from "./decide-before";

export const AGENT_EVALUATION: Evaluation = { tickMs: withDefaults({}).tickMs, onPressure: true, onChange: true, fromZero: false };

export const warmpoolBefore: Policy<null> = {
  name: "warmpool-before",
  about: "today's decide() (frozen copy of commit 99c8e2a), on the agent's triggers: 1 s tick, pressure, container ready/stopped",
  evaluation: AGENT_EVALUATION,
  windowsMs: [],
  init: () => null,
  // The agent before issue 15 counted inputs waiting out a retry delay as queued.
  decide: (config, obs, now) => ({ decision: decideBefore(config.scale, { ...obs, queued: obs.queued + obs.delayed }, now), state: null }),
};

/**
 * The agent after issue 15: the live decide() (cold-start gate, maxConcurrentStarts, load-following
 * scale-down, no starts while the breaker is open) on the same triggers, and the agent's own guards:
 * its RetryBudget and Breaker classes (agent/src/queue), and idempotency keys (a client's retry of a
 * logical call attaches to the call instead of running it again).
 */
export const warmpoolAfter: Policy<null> = {
  name: "warmpool-after",
  about: "decide() as built now (cold-start gate, load-following scale-down), with retry budget, breaker and idempotency keys",
  evaluation: AGENT_EVALUATION,
  windowsMs: [],
  init: () => null,
  decide: (config, obs, now) => ({
    decision: decide(config.scale, { queued: obs.queued, inFlight: obs.inFlight, containers: obs.containers, estimates: obs.estimates, breaker: obs.breaker }, now),
    state: null,
  }),
  guards(): CallGuards {
    const budget = new RetryBudget();
    const breaker = new Breaker();
    return {
      idempotencyKeys: true,
      admit: (now) => breaker.admit(now),
      retry: (now, attempt, maxRetries) => attempt <= maxRetries && budget.tryRetry(now),
      record: (now, ok) => breaker.record(now, ok),
      open: (now) => breaker.state(now) === "open",
      first: (now) => budget.firstAttempt(now),
    };
  },
};
