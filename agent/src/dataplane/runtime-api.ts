/**
 * HAProxy's runtime API on its stats socket (admin level, mode 0600): one command per connection,
 * answered and closed. The data plane (haproxy.ts) puts servers in and out of rotation, reads session
 * counts, and tells a reloaded worker from the one before it through it.
 */
import * as net from "node:net";

/** How long one runtime API command, or a container's `/ready`, may take. */
export const COMMAND_TIMEOUT_MS = 5000;

/** How long a started or reloaded HAProxy has to answer on its socket. */
const WORKER_WAIT_MS = 10_000;

export class RuntimeApi {
  constructor(
    private readonly socketPath: string,
    /** The data plane is closing: stop waiting for a worker. */
    private readonly closed: () => boolean,
  ) {}

  /** Runs `cmd`; throws when the answer is not `expect` (by default: empty, or a CSV/info block). */
  async command(cmd: string, expect?: RegExp): Promise<string> {
    const out = await this.request(cmd);
    if (expect !== undefined ? !expect.test(out) : out.trim() !== "" && !out.startsWith("# ")) {
      throw new Error(`haproxy refused "${cmd}": ${out.trim().slice(0, 300)}`);
    }
    return out;
  }

  /** The pid of the worker answering now, or null when none does. */
  async workerPid(): Promise<string | null> {
    try {
      return /^Pid: (\d+)/m.exec(await this.request("show info"))?.[1] ?? null;
    } catch {
      return null;
    }
  }

  /** Waits until a worker other than `before` answers (after a start or a reload). */
  async waitForWorker(before: string | null): Promise<void> {
    const deadline = Date.now() + WORKER_WAIT_MS;
    for (;;) {
      if (this.closed()) throw new Error("the data plane is closed");
      const pid = await this.workerPid();
      if (pid !== null && pid !== before) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not answer on ${this.socketPath} within ${WORKER_WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** One command (the socket answers one command and closes). */
  private request(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.socketPath, () => socket.end(`${cmd}\n`));
      let out = "";
      socket.setEncoding("utf8");
      socket.setTimeout(COMMAND_TIMEOUT_MS, () => socket.destroy(new Error(`haproxy did not answer "${cmd}" within ${COMMAND_TIMEOUT_MS / 1000} s`)));
      socket.on("data", (d: string) => (out += d));
      socket.on("error", reject);
      socket.on("close", (hadError) => {
        if (!hadError) resolve(out);
      });
    });
  }
}
