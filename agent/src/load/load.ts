/**
 * The load of one function: what is in flight on it and on each of its containers, since when each
 * container has been idle, and what holds a container busy. This class is the only writer of those
 * numbers; every source reports here, the autoscaler reads them (observe), and the container pool
 * hears when a container's count falls to zero (a draining container then stops).
 *
 * Sources, and where they count:
 *
 *   source                                           function   container   how
 *   inputs the dispatcher sent (a batch: each)           ✓          ✓       inputs(c, ±n)
 *   requests the agent's web proxy has open              ✓          ✓       request(c) → end
 *   HAProxy's sessions on the container (polled)         ✓          ✓       sessions(c, n): the latest count
 *   requests held while no container is ready            ✓                  waiting() → end
 *   a draining container held until HAProxy's count                 ✓       hold(c) → release
 *
 * So the autoscaler scales on every request whichever data plane carries it (a request held at zero
 * starts the first container), and a container stops only when nothing of any source is left on it.
 * E.g. 2 inputs + 1 proxied request + 3 HAProxy sessions on one container: 6 in flight on it and on
 * the function; a drain hold on it adds 1 on the container only.
 */
import type { Clock } from "../clock";

interface PerContainer {
  inFlight: number;
  /** When it last became idle; null while busy or before it was ready. */
  idleSince: number | null;
  /** HAProxy's last count, already in inFlight. */
  sessions: number;
}

export class Load<C extends object> {
  private total = 0;
  /** ∫ inFlight dt up to `since` (ms × inputs), and inputs that ended: the autoscaler's estimates (average load, service time by Little's law). */
  private busy = 0;
  private since: number;
  private endedCount = 0;
  private readonly on = new WeakMap<C, PerContainer>();

  constructor(
    private readonly clock: Clock,
    /** `c` has nothing in flight any more (a draining container may stop). */
    private readonly idle: (c: C) => void,
  ) {
    this.since = clock.now();
  }

  /** ∫ inFlight dt (ms × inputs) from construction until now. */
  busyMs(now: number): number {
    return this.busy + this.total * Math.max(0, now - this.since);
  }

  /** Inputs, proxied requests and HAProxy sessions that ended, since construction. */
  get ended(): number {
    return this.endedCount;
  }

  /** In flight on the function: inputs, proxied requests, HAProxy's sessions and requests held at zero. */
  get inFlight(): number {
    return this.total;
  }

  inFlightOn(c: C): number {
    return this.on.get(c)?.inFlight ?? 0;
  }

  idleSince(c: C): number | null {
    return this.on.get(c)?.idleSince ?? null;
  }

  /** `c` became ready: idle from now. */
  ready(c: C): void {
    this.entry(c).idleSince = this.clock.now();
  }

  /** The dispatcher sent `n` inputs to `c` (n > 0), or they ended (n < 0). */
  inputs(c: C, n: number): void {
    this.account(n);
    this.total += n;
    this.change(c, n);
  }

  /** The web proxy opened a request on `c`; the returned function ends it (once, however often called). */
  request(c: C): () => void {
    this.inputs(c, 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inputs(c, -1);
    };
  }

  /** HAProxy counts `n` sessions on `c` now (including those of a process before a reload). */
  sessions(c: C, n: number): void {
    const e = this.entry(c);
    const delta = n - e.sessions;
    if (delta === 0) return;
    e.sessions = n;
    this.account(delta);
    this.total += delta;
    this.change(c, delta);
  }

  /** HAProxy served requests on `c` between two counts: used just now, though nothing is in flight. */
  touched(c: C): void {
    const e = this.entry(c);
    if (e.inFlight === 0) e.idleSince = this.clock.now();
  }

  /** A request waits for a container (none is ready): load on the function, so it starts one. Returns its end. */
  waiting(): () => void {
    this.account(1);
    this.total++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      // Not an input that ran: it does not count as ended (it would shorten the service-time estimate).
      this.account(0);
      this.total--;
    };
  }

  /** Keeps `c` busy, without load on the function, until the returned function releases it (once). */
  hold(c: C): () => void {
    this.change(c, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.change(c, -1);
    };
  }

  /** Closes the busy integral up to now before `total` changes by `delta` (< 0: that many ended). */
  private account(delta: number): void {
    const now = this.clock.now();
    this.busy += this.total * (now - this.since);
    this.since = now;
    if (delta < 0) this.endedCount -= delta;
  }

  private entry(c: C): PerContainer {
    let e = this.on.get(c);
    if (e === undefined) {
      e = { inFlight: 0, idleSince: null, sessions: 0 };
      this.on.set(c, e);
    }
    return e;
  }

  private change(c: C, delta: number): void {
    const e = this.entry(c);
    e.inFlight += delta;
    if (delta > 0) e.idleSince = null;
    else if (e.inFlight === 0) {
      e.idleSince = this.clock.now();
      this.idle(c);
    }
  }
}
