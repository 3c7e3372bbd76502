/**
 * The dispatcher's view of one container: its phase, the inputs it runs now, and the keep-alive pool
 * to its worker. The backend's handle says where it is; this object says what it is doing.
 */
import type { Pool } from "undici";
import type { ContainerHandle, ContainerPhase } from "../backends/backend";

export class Container {
  phase: ContainerPhase = "starting";
  handle: ContainerHandle | null = null;
  pool: Pool | null = null;
  /** Inputs in flight (a batch counts each of its inputs). */
  inFlight = 0;
  /** Requests in flight (a batch counts once): bounded by maxInputs. */
  requests = 0;
  /** When it last became idle; null while busy or starting. */
  idleSince: number | null = null;
  readyAt: number | null = null;
  /** How it ended, once it has. */
  exit: string | null = null;
  /** Why it is being stopped (scale-down, timeout, ...). */
  stopReason: string | null = null;
  served = 0;

  constructor(
    readonly id: string,
    readonly createdAt: number,
  ) {}

  get live(): boolean {
    return this.phase === "starting" || this.phase === "ready";
  }

  describe(): Record<string, unknown> {
    return {
      id: this.id,
      state: this.phase,
      inFlight: this.inFlight,
      served: this.served,
      createdAt: new Date(this.createdAt).toISOString(),
      readyAt: this.readyAt === null ? null : new Date(this.readyAt).toISOString(),
      idleSince: this.idleSince === null ? null : new Date(this.idleSince).toISOString(),
      ref: this.handle?.ref ?? null,
      port: this.handle?.port ?? null,
      gpus: this.handle?.gpus ?? [],
      ...(this.stopReason === null ? {} : { stopReason: this.stopReason }),
      ...(this.exit === null ? {} : { exit: this.exit }),
    };
  }
}
