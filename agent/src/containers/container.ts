/**
 * One container as the agent sees it: its phase, the backend's handle (where it is), the keep-alive
 * connection to its worker and its web server's port. The pool (pool.ts) is the only writer of these;
 * the dispatcher writes the two slot counts it decides by. What is in flight on it is the function's
 * Load's (load/load.ts), not the container's.
 */
import type { Pool } from "undici";
import type { ContainerHandle, ContainerPhase } from "../backends/backend";

export class Container {
  phase: ContainerPhase = "starting";
  handle: ContainerHandle | null = null;
  /** Keep-alive connections to its worker (`POST /invoke`), once it is ready. */
  connection: Pool | null = null;
  /** Its web server's port, as its worker's `/ready` names it (asked once, for webServer endpoints). */
  webPort: number | null = null;
  /** Requests the dispatcher has in flight on it (a batch counts once): bounded by maxInputs. */
  requests = 0;
  /** Inputs it has run (the dispatcher's count). */
  served = 0;
  /** Parameter sets of a class function sent to it, least recently first (the dispatcher's; dispatcher/affinity.ts). */
  instances: string[] = [];
  readyAt: number | null = null;
  /** How it ended, once it has. */
  exit: string | null = null;
  /** Why it is being stopped (scale-down, timeout, ...). */
  stopReason: string | null = null;

  constructor(
    readonly id: string,
    readonly createdAt: number,
  ) {}

  get live(): boolean {
    return this.phase === "starting" || this.phase === "ready";
  }
}

/** How a container appears in a function's status: `inFlight` and `idleSince` are its Load's. */
export function describeContainer(c: Container, inFlight: number, idleSince: number | null): Record<string, unknown> {
  return {
    id: c.id,
    state: c.phase,
    inFlight,
    served: c.served,
    createdAt: new Date(c.createdAt).toISOString(),
    readyAt: c.readyAt === null ? null : new Date(c.readyAt).toISOString(),
    idleSince: idleSince === null ? null : new Date(idleSince).toISOString(),
    ref: c.handle?.ref ?? null,
    port: c.handle?.port ?? null,
    gpus: c.handle?.gpus ?? [],
    ...(c.stopReason === null ? {} : { stopReason: c.stopReason }),
    ...(c.exit === null ? {} : { exit: c.exit }),
  };
}
