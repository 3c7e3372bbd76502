/**
 * warmpool's own rule, applied the way the agent applies it (autoscaler/runner.ts): evaluated on every
 * autoscaler tick (the agent's default, 1 s), at once when an input cannot be placed (`pressure`), and
 * when a container becomes ready or stops (`changed`).
 *
 * - `warmpool-before`: the frozen copy of today's decide() (decide-before.ts), the baseline that stays
 *   put when decide() changes.
 * - `warmpool`: decide() as the agent is built now (agent/dist/src/autoscaler/decide.js when run from
 *   dist). Today it is the same rule, so the two rows agree; after issue 15 it is the new one.
 */
import { decide } from "../../../src/autoscaler/decide";
import { withDefaults } from "../../../src/config/options";
import type { Evaluation, Policy } from "../policy";
import { decide as decideBefore } from "./decide-before";

export const AGENT_EVALUATION: Evaluation = { tickMs: withDefaults({}).tickMs, onPressure: true, onChange: true, fromZero: false };

export const warmpoolBefore: Policy<null> = {
  name: "warmpool-before",
  about: "today's decide() (frozen copy of commit 99c8e2a), on the agent's triggers: 1 s tick, pressure, container ready/stopped",
  evaluation: AGENT_EVALUATION,
  windowsMs: [],
  init: () => null,
  decide: (config, obs, now) => ({ decision: decideBefore(config.scale, obs, now), state: null }),
};

export const warmpoolLive: Policy<null> = {
  name: "warmpool",
  about: "decide() as built now, on the same triggers (today the same rule as warmpool-before)",
  evaluation: AGENT_EVALUATION,
  windowsMs: [],
  init: () => null,
  decide: (config, obs, now) => ({ decision: decide(config.scale, obs, now), state: null }),
};
