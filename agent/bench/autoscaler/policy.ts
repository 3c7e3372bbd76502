/**
 * What a scaling policy is to the simulation (engine.ts): a pure decision, when it is asked for one, and
 * optionally the guards on calls and retries. Today's three policies are in policies/; issue 15's
 * "warmpool-after" is one more entry in policies/index.ts implementing this interface.
 *
 *   decide(config, observation, now, state) → { decision, state }
 *
 * No clock reads, no I/O, no randomness: everything a policy may use is in `config`, `obs` and `now`,
 * and whatever it must remember between decisions (Knative's panic mode) it returns as `state`, which
 * the engine hands back next time. The observation is the agent's (`FunctionRuntime.observe()`: the
 * containers, inputs queued and in flight) plus what the agent could measure about the recent past
 * (`estimates`, and averages of the load over the windows the policy declares).
 */
import type { Estimates, ScaleConfig } from "../../src/autoscaler/decide";
import type { FunctionConfig } from "../../src/config/function";

export interface PolicyConfig {
  /** What the agent's decide() reads: `scaleConfig(fn)`, as FunctionRuntime builds it. */
  scale: ScaleConfig;
  /** The whole compiled function (maxInputs, retries, and the spec itself: `fn.spec.autoscaler` holds new fields as the schema gains them). */
  fn: FunctionConfig;
}

export interface ContainerView {
  id: string;
  state: "starting" | "ready";
  inFlight: number;
  /** When it last became idle; null while busy or starting. */
  idleSince: number | null;
  /** When it was started (ms, simulation time). */
  startedAt: number;
}

/**
 * The agent's Estimates (autoscaler/decide.ts), measured here from what already happened in the
 * simulation, as the agent could measure it (stats.ts): never the simulation's own parameters.
 */
export type { Estimates } from "../../src/autoscaler/decide";

export interface PolicyObservation {
  /** Inputs waiting for a container. */
  queued: number;
  /** Inputs waiting out a retry delay (the agent before issue 15 counted them as queued; the agent after leaves them out). */
  delayed: number;
  /** The policy's breaker (CallGuards.open) at this step: "open" while it is. */
  breaker: "closed" | "open";
  inFlight: number;
  /** Live containers in start order (starting or ready; draining ones are on their way out). */
  containers: readonly ContainerView[];
  estimates: Estimates;
  /**
   * Average of load = inFlight + queued over each window in `Policy.windowsMs`, keyed by the window.
   * Knative's rule for sparse data: the average covers only the time since data started (data stops
   * while no container is live and nothing waits; a whole window without data starts it afresh).
   */
  averages: Readonly<Record<number, number>>;
}

export interface PolicyDecision {
  desired: number;
  /** Containers to start now. */
  start: number;
  /** Containers to stop now (ids of live containers; a busy one drains first: no new inputs, stopped once idle). */
  stop: string[];
  reason: string;
}

/** When the engine asks the policy for a decision (any that applies, at most once per step). */
export interface Evaluation {
  /** Every tickMs of simulated time; 0 = every step. The agent's runner: 1000. Knative: 2000. */
  tickMs: number;
  /** When an input waits, no container can take it and fewer than maxContainers are live (the agent's `pressure`). */
  onPressure: boolean;
  /** When a container became ready or stopped (the agent's `changed`). */
  onChange: boolean;
  /** When inputs wait and no container is live (Knative's activator poking the autoscaler). */
  fromZero: boolean;
}

/**
 * Guards on calls and retries. Absent on today's policies: every admitted call runs, each failed
 * attempt is retried while the function's declared retries last, and a client that retries a failed
 * call makes a new call (no idempotency keys), so a client retrying 3× on `retries: 3` can run 16
 * attempts. One instance per simulated run, so it may keep state (a retry budget, a breaker).
 */
export interface CallGuards {
  /** A client's retry of a logical call gets that call's stored outcome instead of running it again. */
  readonly idempotencyKeys: boolean;
  /** May a new call run? false fails it at once, without an attempt (breaker open). */
  admit(now: number): boolean;
  /** May attempt `attempt` (1-based), which just failed, be retried? Today: attempt ≤ maxRetries. */
  retry(now: number, attempt: number, maxRetries: number): boolean;
  /** Every attempt that ended, and how. */
  record(now: number, ok: boolean): void;
  /** A first attempt was dispatched (a retry budget earns from these). */
  first?(now: number): void;
  /** For the report: is the breaker open now (containers started meanwhile are counted). */
  open(now: number): boolean;
}

export interface Policy<S = unknown> {
  readonly name: string;
  /** One line for the report: where the rule comes from. */
  readonly about: string;
  readonly evaluation: Evaluation;
  /** Load-averaging windows the engine keeps for this policy, in ms (Knative: 60 s stable, 6 s panic). */
  readonly windowsMs: readonly number[];
  init(config: PolicyConfig): S;
  decide(config: PolicyConfig, obs: PolicyObservation, now: number, state: S): { decision: PolicyDecision; state: S };
  guards?(config: PolicyConfig): CallGuards;
}

/** Today's agent: no guards (see CallGuards). */
export function noGuards(): CallGuards {
  return {
    idempotencyKeys: false,
    admit: () => true,
    retry: (_now, attempt, maxRetries) => attempt <= maxRetries,
    record: () => undefined,
    open: () => false,
  };
}
