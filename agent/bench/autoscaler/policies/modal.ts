/**
 * Modal's rule as its documentation states it (shared/notes/autoscaling.md): desired = ceil(load /
 * target_inputs), plus buffer_containers while the function is active, within [min_containers,
 * max_containers]; every missing container is started at once; a container idle for scaledown_window
 * is stopped (longest idle first, never below desired). Modelled as a controller that looks at every
 * step (no tick, no trigger), with the same dispatch as every policy here.
 *
 * It is written out on its own, not borrowed from decide(): it models another system, and the two
 * must be free to differ once decide() changes.
 */
import type { ContainerView, Policy } from "../policy";

export const modal: Policy<null> = {
  name: "modal",
  about: "Modal: ceil(load / target) + buffer while active, all missing started at once, stop after scaledown_window idle; every step",
  evaluation: { tickMs: 0, onPressure: false, onChange: false, fromZero: false },
  windowsMs: [],
  init: () => null,
  decide(config, obs, now) {
    const s = config.scale;
    const load = obs.queued + obs.delayed + obs.inFlight;
    const raw = Math.ceil(load / Math.max(1, s.targetInputs * s.batchSize)) + (load > 0 ? s.bufferContainers : 0);
    const desired = Math.min(s.maxContainers, Math.max(s.minContainers, raw));
    const live = obs.containers.length;
    if (desired > live) return { decision: { desired, start: desired - live, stop: [], reason: `modal: ${load} inputs → ${desired} containers` }, state: null };
    const idle = obs.containers
      .filter((c): c is ContainerView & { idleSince: number } => c.state === "ready" && c.inFlight === 0 && c.idleSince !== null && now - c.idleSince >= s.scaledownWindowMs)
      .sort((a, b) => a.idleSince - b.idleSince)
      .slice(0, live - desired)
      .map((c) => c.id);
    return { decision: { desired, start: 0, stop: idle, reason: `modal: ${load} inputs → ${desired} containers` }, state: null };
  },
};
