/**
 * One request to one container (a single input, or a batch): it settles exactly once — by the
 * worker's response, a broken connection, or the per-attempt timeout on the agent's clock — and hands
 * the outcome back to its owner (the function's InputDispatch), which records it through CallTable
 * and frees the slot.
 */
import type { Timer } from "../clock";
import { ATTEMPT_ERRORS, type RemoteError } from "../errors";
import type { Container } from "../containers/container";
import type { Input } from "../queue/call-table";
import { invoke, invokeBody, ProtocolError, type WorkerOutput } from "./invoke";

/** Where an attempt reports: the dispatch that sent it. */
export interface AttemptOwner {
  /** The function's timeout per attempt. */
  readonly timeoutMs: number;
  /** The outputs of a finished request. */
  settle(c: Container, inputs: readonly Input[], outputs: WorkerOutput[], startedAt: number): void;
  failAll(inputs: readonly Input[], error: RemoteError, outcome: "timeout" | "crashed" | "failed", container: string, startedAt: number, retryable: boolean): void;
  /** Recycles a container that cannot be trusted any more. */
  drain(id: string, reason: string): void;
  /** The request is over, however it ended: its slot is free. */
  release(c: Container, n: number): void;
}

/** One request to one container: settles exactly once, by response, error or timeout. */
export class Attempt {
  done = false;
  timer: Timer | null = null;

  constructor(
    private readonly owner: AttemptOwner,
    private readonly c: Container,
    private readonly inputs: Input[],
    private readonly startedAt: number,
  ) {}

  send(payloads: string[]): void {
    if (this.done) return;
    const connection = this.c.connection;
    if (connection === null) return this.crashed(new Error("container has no connection to its worker"), true);
    invoke(connection, invokeBody(this.inputs, payloads), this.c.handle?.authorization).then(
      (outputs) => this.ok(outputs),
      (err: Error) => this.crashed(err, !(err instanceof ProtocolError)),
    );
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.timer?.cancel();
    return true;
  }

  private ok(outputs: WorkerOutput[]): void {
    if (!this.finish()) return;
    this.owner.settle(this.c, this.inputs, outputs, this.startedAt);
    this.owner.release(this.c, this.inputs.length);
  }

  crashed(err: Error, retryable: boolean): void {
    if (!this.finish()) return;
    const c = this.c;
    const error: RemoteError = retryable
      ? { type: ATTEMPT_ERRORS.crashed, message: `container ${c.id} failed while running the input: ${c.exit ?? err.message}` }
      : { type: ATTEMPT_ERRORS.protocol, message: err.message };
    this.owner.failAll(this.inputs, error, retryable ? "crashed" : "failed", c.id, this.startedAt, retryable);
    // A connection that broke under a live process means the container cannot be trusted: recycle it.
    if (retryable && c.live) this.owner.drain(c.id, "connection failed");
    this.owner.release(c, this.inputs.length);
  }

  timeout(): void {
    if (!this.finish()) return;
    const seconds = this.owner.timeoutMs / 1000;
    const error: RemoteError = { type: ATTEMPT_ERRORS.timeout, message: `the attempt ran longer than the function's timeout of ${seconds}s; its container is recycled` };
    this.owner.failAll(this.inputs, error, "timeout", this.c.id, this.startedAt, true);
    this.owner.drain(this.c.id, "timeout");
    this.owner.release(this.c, this.inputs.length);
  }
}
