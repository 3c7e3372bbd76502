/**
 * One request to one container (a single input, or a batch): it settles exactly once — by the
 * worker's response, a broken connection, or the per-attempt timeout on the agent's clock — and hands
 * the outcome back to its FunctionRuntime, which records it through CallTable and frees the slot.
 */
import type { Timer } from "../clock";
import { ATTEMPT_ERRORS, type RemoteError } from "../errors";
import type { Input } from "../queue/call-table";
import type { Container } from "../containers/container";
import type { FunctionRuntime } from "./dispatch";
import { invoke, invokeBody, ProtocolError, type WorkerOutput } from "./invoke";

/** One request to one container: settles exactly once, by response, error or timeout. */
export class Attempt {
  done = false;
  timer: Timer | null = null;

  constructor(
    private readonly fn: FunctionRuntime,
    private readonly c: Container,
    private readonly inputs: Input[],
    private readonly startedAt: number,
  ) {}

  send(payloads: string[]): void {
    if (this.done) return;
    const pool = this.c.pool;
    if (pool === null) return this.crashed(new Error("container has no connection pool"), true);
    invoke(pool, invokeBody(this.inputs, payloads)).then(
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
    this.fn.settle(this.c, this.inputs, outputs, this.startedAt);
    this.fn.release(this.c, this.inputs.length);
  }

  crashed(err: Error, retryable: boolean): void {
    if (!this.finish()) return;
    const c = this.c;
    const error: RemoteError = retryable
      ? { type: ATTEMPT_ERRORS.crashed, message: `container ${c.id} failed while running the input: ${c.exit ?? err.message}` }
      : { type: ATTEMPT_ERRORS.protocol, message: err.message };
    this.fn.failAll(this.inputs, error, retryable ? "crashed" : "failed", c.id, this.startedAt, retryable);
    // A connection that broke under a live process means the container cannot be trusted: recycle it.
    if (retryable && c.live) this.fn.drain(c.id, "connection failed");
    this.fn.release(c, this.inputs.length);
  }

  timeout(): void {
    if (!this.finish()) return;
    const seconds = this.fn.config.timeoutMs / 1000;
    const error: RemoteError = { type: ATTEMPT_ERRORS.timeout, message: `the attempt ran longer than the function's timeout of ${seconds}s; its container is recycled` };
    this.fn.failAll(this.inputs, error, "timeout", this.c.id, this.startedAt, true);
    this.fn.drain(this.c.id, "timeout");
    this.fn.release(this.c, this.inputs.length);
  }
}
