/**
 * A real worker process of either runtime, started the way the agent starts one (PROTOCOL.md), and
 * a keep-alive HTTP client for it. Every wait here is on an event the worker produces (its ready
 * line, a response, its exit), except `untilListening`, which retries a refused connection because
 * nothing else tells a test that a process has bound its port before it is ready.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export type Runtime = "python" | "node";

export const RUNTIMES_DIR = path.resolve(__dirname, "../../runtimes");
const FIXTURES_DIR = path.resolve(__dirname, "fixtures");

export interface StartOptions {
  /** WARMPOOL_HANDLER, e.g. `handlers:square` */
  handler: string;
  /** WARMPOOL_MAX_INPUTS @default 4 */
  maxInputs?: number;
  /** WARMPOOL_BATCH_SIZE @default 0 */
  batchSize?: number;
}

export interface Reply {
  status: number;
  body: any;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Output {
  id: string;
  ok: boolean;
  value?: unknown;
  error?: { type: string; message: string; traceback: string };
}

/** A port nobody listens on right now: the agent picks ports the same way. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function command(runtime: Runtime): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (runtime === "python") {
    return {
      file: "python3",
      args: ["-m", "warmpool.worker"],
      env: { PYTHONPATH: path.join(RUNTIMES_DIR, "python", "src"), PYTHONDONTWRITEBYTECODE: "1" },
    };
  }
  return { file: process.execPath, args: [path.join(RUNTIMES_DIR, "node", "worker.js")], env: {} };
}

export class WorkerProcess {
  stdout = "";
  stderr = "";
  /** Settles once the process has exited and its output has been read to the end. */
  readonly exited: Promise<Exit>;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly readyLine: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The function's FIXTURE_DIR: handlers wait on and write files here. */
    readonly dir: string,
  ) {
    child.stdout!.setEncoding("utf8").on("data", (text: string) => (this.stdout += text));
    child.stderr!.setEncoding("utf8");
    this.exited = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    this.readyLine = new Promise((resolve, reject) => {
      child.stderr!.on("data", (text: string) => {
        this.stderr += text;
        if (this.stderr.includes("[warmpool] ready")) resolve();
      });
      void this.exited.then((exit) => reject(new Error(`worker exited (${exit.code ?? exit.signal}) before ready:\n${this.stderr}`)));
    });
    this.readyLine.catch(() => {});
  }

  static async start(runtime: Runtime, options: StartOptions): Promise<WorkerProcess> {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `warmpool-${runtime}-`));
    const { file, args, env } = command(runtime);
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANG: process.env.LANG ?? "C.UTF-8",
        WARMPOOL_PROTOCOL: "1",
        WARMPOOL_HOST: "127.0.0.1",
        WARMPOOL_PORT: String(port),
        WARMPOOL_HANDLER: options.handler,
        WARMPOOL_APP_DIR: path.join(FIXTURES_DIR, runtime),
        WARMPOOL_MAX_INPUTS: String(options.maxInputs ?? 4),
        WARMPOOL_BATCH_SIZE: String(options.batchSize ?? 0),
        WARMPOOL_CONTAINER_ID: `test-${runtime}`,
        FIXTURE_DIR: dir,
        ...env,
      },
    });
    return new WorkerProcess(child, port, dir);
  }

  /** Resolves on the worker's `[warmpool] ready` line; rejects if it exits first. */
  ready(): Promise<void> {
    return this.readyLine;
  }

  /** Retries GET /ready until the port answers at all, whatever the status. */
  async untilListening(): Promise<Reply> {
    for (;;) {
      try {
        return await this.request("GET", "/ready", undefined, false);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED" || this.child.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  /**
   * Resolves once a fresh connection is refused, reset or turned away with 503: the worker has begun
   * to drain. (Reset: it was queued on the listening socket when the worker closed it.)
   */
  async untilRefusing(): Promise<void> {
    for (;;) {
      try {
        const reply = await this.request("GET", "/stats", undefined, false);
        if (reply.status === 503) return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ECONNREFUSED" || code === "ECONNRESET") return;
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** One HTTP/1.1 request; `keepAlive: false` opens a connection of its own. */
  request(method: string, urlPath: string, body?: string, keepAlive = true): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
      const request = http.request({ host: "127.0.0.1", port: this.port, method, path: urlPath, headers, agent: keepAlive ? this.agent : false }, (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        response.once("end", () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
        response.once("error", reject);
      });
      request.once("error", reject);
      request.end(body);
    });
  }

  async invoke(...inputs: Array<{ id: string; args?: unknown[]; kwargs?: Record<string, unknown> }>): Promise<Output[]> {
    const reply = await this.request("POST", "/invoke", JSON.stringify({ inputs }));
    if (reply.status !== 200) throw new Error(`POST /invoke answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body.outputs;
  }

  /** The value of a plain call, or the error it came back with as an exception. */
  async call(...args: unknown[]): Promise<unknown> {
    const [output] = await this.invoke({ id: "in-1", args });
    if (!output.ok) throw new Error(`${output.error!.type}: ${output.error!.message}`);
    return output.value;
  }

  async stats(): Promise<Record<string, number>> {
    return (await this.request("GET", "/stats")).body;
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Kills the worker if it still runs and removes its directory; safe to call twice. */
  async dispose(): Promise<void> {
    this.agent.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
