/**
 * The HAProxy data plane: with `dataPlane: "haproxy"` the gateway's public address is HAProxy's, and
 * requests for webServer endpoints with a ready container go from HAProxy straight to the container's
 * web server; everything else reaches the agent's own listener behind it (haproxy-config.ts says which).
 *
 * Why: a proxy in the agent's JavaScript adds ×2–3 of what nginx adds to a request (BENCHMARKS.md, e2);
 * HAProxy adds what nginx adds, and it can be reconfigured at run time. The agent keeps the decisions:
 * - The configuration is rendered from the deployed endpoints and reloaded (seamlessly, master-worker) when they change.
 * - Ready containers are added as servers through the runtime API, and removed when they stop or drain.
 * - Requests in flight in HAProxy (each server's current sessions, polled) are reported to the
 *   function's Load (load/load.ts) as its container's sessions, so the autoscaler scales on them and
 *   never stops a container under them.
 * - A draining container is first taken out of HAProxy; its count is read again after that before it
 *   may stop (a request routed just before is still counted).
 * - A request that came and went between two counts (seen in a server's total) still marks its
 *   container as used just now, so short, sparse traffic does not look idle to the scale-down.
 * - After a reload the old HAProxy process finishes the streams it has (for at most an hour); their
 *   last counts stay on the containers until that process is gone.
 * One queue runs every change to HAProxy (reloads, rotation, counts taken for a drain), so a reload
 * never lands in the middle of a rotation change, and one failed command fails only its container.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "pino";
import type { Registry } from "../apps/registry";
import type { Container } from "../containers/container";
import type { DeployedFunction } from "../apps/deployed-function";
import { tiedToAgent } from "../proc/parent-death";
import { alive } from "../proc/tree";
import type { RouteTable } from "../routes/table";
import { backendName, renderConfig, slotCounts, slotName } from "./haproxy-config";
import { COMMAND_TIMEOUT_MS, RuntimeApi } from "./runtime-api";

export interface HaproxyOptions {
  /** The deployed apps: the configuration is rendered from their endpoints, the rotation from their containers. */
  registry: Registry;
  binary: string;
  /** Where the configuration and the runtime API socket live (the agent's state dir). */
  dir: string;
  bind: { host: string; port: number };
  agent: { host: string; port: number };
  token: string;
  log: Logger;
  /** Client connections beyond which new ones are answered 503. */
  maxConnections: number;
  /** Seconds a client has to send a request's head. */
  headersTimeout: number;
}

/** How often current sessions are read: how stale the autoscaler's view of HAProxy's traffic can be. */
const POLL_MS = 100;

/** A webServer endpoint's backend and the function whose containers serve it. */
export interface ServedEndpoint {
  app: string;
  endpoint: string;
  fn: DeployedFunction;
}

interface Member {
  fn: DeployedFunction;
  c: Container;
  host: string;
  port: number;
  /** The slot it holds in each backend (held until its sessions are counted at zero). */
  slots: Map<string, string>;
  /** Backends whose slot is in rotation. */
  live: Set<string>;
  /** Sessions last counted on it in the current HAProxy process (with `legacy`: what its Load has from HAProxy). */
  counted: number;
  /** Requests its slots have served in the current process (HAProxy's `stot`). */
  served: number;
  /** Sessions the previous process (after a reload) had on it, kept until that process exits. */
  legacy: number;
  /** Draining: it is held busy (its Load's hold, released by this) until a count taken after it left rotation is applied. */
  hold: (() => void) | null;
}

export class HaproxyDataPlane {
  private process: ChildProcess | null = null;
  private readonly configPath: string;
  private readonly socketPath: string;
  private readonly api: RuntimeApi;
  private config = "";
  /** Server slots per backend in the configuration HAProxy runs. */
  private slots = new Map<string, number>();
  private served: ServedEndpoint[] = [];
  private readonly members = new Map<string, Member>();
  private queue: Promise<void> = Promise.resolve();
  private syncQueued = false;
  private pollTimer: NodeJS.Timeout | null = null;
  /** The count in progress: counts are applied in the order they were read, never an older over a newer. */
  private counting: Promise<void> | null = null;
  /** The worker of before the last reload, while it still runs. */
  private previousWorker: number | null = null;
  private closed = false;

  constructor(private readonly options: HaproxyOptions) {
    this.configPath = path.join(options.dir, "haproxy.cfg");
    this.socketPath = path.join(options.dir, "haproxy.sock");
    this.api = new RuntimeApi(this.socketPath, () => this.closed);
  }

  get url(): string {
    return `http://${this.options.bind.host}:${this.options.bind.port}`;
  }

  /** Starts HAProxy with the configuration of the deployed apps; resolves once it answers on its runtime API. */
  async start(): Promise<void> {
    const routes = this.options.registry.routes;
    this.served = this.servedEndpoints();
    const slots = this.slotCounts(routes);
    const config = this.render(routes, slots);
    fs.writeFileSync(this.configPath, config, { mode: 0o600 });
    fs.chmodSync(this.configPath, 0o600);
    this.config = config;
    this.slots = slots;
    try {
      await this.launch();
    } catch (err) {
      this.closed = true;
      throw err;
    }
    this.pollTimer = setInterval(() => {
      if (this.counting === null) void this.poll().catch(() => undefined);
    }, POLL_MS);
    this.pollTimer.unref();
    this.sync();
  }

  /** Runs HAProxy (master-worker) on the written configuration until it answers; an unexpected exit starts it again. */
  private async launch(): Promise<void> {
    // Through setpriv --pdeathsig: HAProxy (master and workers) dies with the agent, kill -9 included, and frees the port.
    const child = spawn(...tiedToAgent(this.options.binary, ["-W", "-db", "-f", this.configPath]), { stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-4000);
      for (const line of d.split("\n")) {
        if (/\[ALERT\]/.test(line)) this.options.log.warn({ event: "dataplane.haproxy", line }, "haproxy");
        else if (line.trim() !== "") this.options.log.debug({ event: "dataplane.haproxy", line }, "haproxy");
      }
    });
    // Not events.once for "exit": it would reject with a spawn error before "error" is seen here.
    const gone = new Promise<"exited">((resolve) => child.once("exit", () => resolve("exited")));
    const failed = new Promise<Error>((resolve) => child.once("error", resolve));
    try {
      const first = await Promise.race([this.api.waitForWorker(null).then(() => "ready" as const), gone, failed]);
      if (first instanceof Error)
        throw new Error(`data plane haproxy: cannot run ${JSON.stringify(this.options.binary)} (${first.message}); install HAProxy 2.6 or later, or use the agent's own proxy (--data-plane agent)`);
      if (first === "exited") throw new Error(`data plane haproxy: ${this.options.binary} exited before it was ready: ${stderr.trim().split("\n").slice(-5).join(" / ")}`);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    child.once("exit", (code, signal) => {
      if (this.closed) return;
      // The gateway's address is HAProxy's: until it is back, the agent is unreachable. Nothing it counted is in flight any more.
      this.options.log.error({ event: "dataplane.exited", code, signal }, `haproxy exited (${signal ?? `code ${code}`}); starting it again`);
      for (const m of this.members.values()) this.release(m);
      this.members.clear();
      this.previousWorker = null;
      void this.relaunch(1000);
    });
  }

  private async relaunch(delayMs: number): Promise<void> {
    await new Promise((r) => setTimeout(r, delayMs).unref());
    if (this.closed) return;
    try {
      await this.launch();
      this.options.log.info({ event: "dataplane.restarted" }, "haproxy is serving again");
      this.sync();
    } catch (err) {
      this.options.log.error({ event: "dataplane.restartFailed", error: (err as Error).message }, "haproxy did not start again; trying later");
      void this.relaunch(Math.min(delayMs * 2, 30_000));
    }
  }

  /** A deploy changed the endpoints: rewrite the configuration and reload when it differs; servers are put in rotation again. */
  update(): Promise<void> {
    return this.enqueue(() => this.reload(this.options.registry.routes, this.servedEndpoints()));
  }

  /** Each webServer backend gets as many server slots as its function may have containers. */
  private slotCounts(routes: RouteTable): Map<string, number> {
    return slotCounts(routes, (app, fn) => this.options.registry.find(app, fn)?.config.maxContainers);
  }

  /** The webServer endpoints, each with the function whose ready containers serve it. */
  private servedEndpoints(): ServedEndpoint[] {
    const out: ServedEndpoint[] = [];
    const table = this.options.registry.routes;
    for (const [app] of table.apps()) {
      for (const r of table.routes(app)) {
        const fn = this.options.registry.find(app, r.spec.function);
        if (r.spec.kind === "webServer" && fn !== undefined) out.push({ app, endpoint: r.name, fn });
      }
    }
    return out;
  }

  /** Brings HAProxy's rotation in line with the ready containers (coalesced). */
  sync(): void {
    if (this.closed || this.syncQueued) return;
    this.syncQueued = true;
    void this.enqueue(() => {
      this.syncQueued = false;
      return this.reconcile();
    }).catch((err: Error) => this.options.log.warn({ event: "dataplane.syncFailed", error: err.message }, "haproxy rotation sync failed; retried on the next change"));
  }

  /** A container is draining: hold it busy until HAProxy no longer routes to it and its sessions are counted. */
  draining(fn: DeployedFunction, c: Container): void {
    const m = this.members.get(c.id);
    // The container only: the function's load is what HAProxy counts, not this hold.
    if (m !== undefined && m.hold === null) m.hold = fn.load.hold(c);
    this.sync();
  }

  async close(): Promise<void> {
    const child = this.process;
    const wasClosed = this.closed;
    this.closed = true;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    await this.queue;
    if (wasClosed || child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(() => (this.closed ? undefined : op()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private render(routes: RouteTable, slots: ReadonlyMap<string, number>): string {
    const o = this.options;
    return renderConfig({ routes, slots, bind: o.bind, agent: o.agent, token: o.token, socket: this.socketPath, maxConnections: o.maxConnections, headersTimeout: o.headersTimeout });
  }

  private async reload(routes: RouteTable, served: ServedEndpoint[]): Promise<void> {
    this.served = served;
    const slots = this.slotCounts(routes);
    const config = this.render(routes, slots);
    if (config !== this.config) {
      fs.writeFileSync(this.configPath, config, { mode: 0o600 });
      const before = await this.api.workerPid();
      (this.process as ChildProcess).kill("SIGUSR2");
      await this.api.waitForWorker(before);
      // Only now: a reload that failed is tried again by the next deploy.
      this.config = config;
      this.slots = slots;
      this.previousWorker = before === null ? null : Number(before);
      // The new process starts with every slot in maintenance and none of the old one's sessions.
      for (const m of this.members.values()) {
        m.legacy += m.counted;
        m.counted = 0;
        m.served = 0;
        m.slots.clear();
        m.live.clear();
      }
    }
    await this.reconcile();
  }

  private async reconcile(): Promise<void> {
    const want = new Map<string, { fn: DeployedFunction; c: Container; backends: Set<string> }>();
    for (const s of this.served) {
      const be = backendName(s.app, s.endpoint);
      for (const c of s.fn.pool.containers) {
        if (c.phase !== "ready") continue;
        const w = want.get(c.id) ?? { fn: s.fn, c, backends: new Set<string>() };
        w.backends.add(be);
        want.set(c.id, w);
      }
    }
    // Out of rotation first: their slots may be what the ready ones need.
    for (const [id, m] of this.members) {
      const keep = m.c.phase === "ready" ? (want.get(id)?.backends ?? new Set<string>()) : new Set<string>();
      try {
        for (const be of [...m.live]) {
          if (keep.has(be)) continue;
          m.live.delete(be);
          await this.api.command(`set server ${be}/${m.slots.get(be) as string} state maint`);
        }
        // Counted after it left every rotation: what is left on it finishes, nothing new comes.
        if (keep.size === 0 && m.hold !== null) await this.poll();
      } catch (err) {
        this.options.log.warn({ event: "dataplane.rotationFailed", container: id, error: (err as Error).message }, "could not take a container out of HAProxy's rotation");
      } finally {
        if (keep.size === 0 && m.hold !== null) {
          m.hold();
          m.hold = null;
        }
      }
      if (keep.size === 0 && m.counted === 0 && m.legacy === 0) this.members.delete(id);
    }
    for (const [id, w] of want) {
      try {
        await this.enter(id, w.fn, w.c, w.backends);
      } catch (err) {
        this.options.log.warn(
          { event: "dataplane.rotationFailed", container: id, error: (err as Error).message },
          "could not put a container in HAProxy's rotation; its requests go through the agent",
        );
      }
    }
    // Members kept for their sessions (or waiting for a slot) are looked at again until they are settled.
    const unsettled = [...this.members.values()].some((m) => {
      const w = want.get(m.c.id);
      return w === undefined || [...w.backends].some((be) => this.slots.has(be) && !m.live.has(be));
    });
    if (unsettled) setTimeout(() => this.sync(), 200).unref();
  }

  /** Puts a ready container in rotation in each of `backends`. */
  private async enter(id: string, fn: DeployedFunction, c: Container, backends: Set<string>): Promise<void> {
    let m = this.members.get(id);
    if (m === undefined) {
      const handle = c.handle as NonNullable<Container["handle"]>;
      const port = await fn.pool.webPort(c, COMMAND_TIMEOUT_MS);
      m = { fn, c, host: handle.host, port, slots: new Map(), live: new Set(), counted: 0, served: 0, legacy: 0, hold: null };
      this.members.set(id, m);
    }
    for (const be of backends) {
      // It may have started draining while this pass waited.
      if (c.phase !== "ready" || m.live.has(be)) continue;
      let slot = m.slots.get(be);
      if (slot === undefined) {
        // None: every slot is still taken by a container finishing its requests (the next pass), or the
        // backend is not in the configuration HAProxy runs (a reload failed; the next deploy retries it).
        slot = this.freeSlot(be, this.slots.get(be) ?? 0);
        if (slot === undefined) continue;
        m.slots.set(be, slot);
      }
      await this.api.command(`set server ${be}/${slot} addr ${m.host} port ${m.port}`, /changed|no need to change/);
      await this.api.command(`set server ${be}/${slot} state ready`);
      m.live.add(be);
    }
  }

  /** A slot of `be` no member holds, or undefined when all `count` are taken. */
  private freeSlot(be: string, count: number): string | undefined {
    const taken = new Set<string>();
    for (const m of this.members.values()) {
      const slot = m.slots.get(be);
      if (slot !== undefined) taken.add(slot);
    }
    for (let i = 1; i <= count; i++) if (!taken.has(slotName(i))) return slotName(i);
    return undefined;
  }

  /** Gives back what a member holds on its container's counts. */
  private release(m: Member): void {
    m.counted = 0;
    m.legacy = 0;
    m.fn.load.sessions(m.c, 0);
    if (m.hold !== null) {
      m.hold();
      m.hold = null;
    }
  }

  /** Reads every slot's current sessions and applies the change to its container's inFlight (one count at a time). */
  private async poll(): Promise<void> {
    while (this.counting !== null) await this.counting.catch(() => undefined);
    this.counting = this.count();
    try {
      await this.counting;
    } finally {
      this.counting = null;
    }
  }

  private async count(): Promise<void> {
    if (this.members.size === 0) return;
    const owner = new Map<string, Member>();
    for (const m of this.members.values()) for (const [be, slot] of m.slots) owner.set(`${be}/${slot}`, m);
    const csv = await this.api.command("show stat -1 4 -1");
    const lines = csv.split("\n");
    const header = (lines[0] ?? "").replace(/^# /, "").split(",");
    const [px, sv, scur, stot] = ["pxname", "svname", "scur", "stot"].map((name) => header.indexOf(name)) as [number, number, number, number];
    const sessions = new Map<Member, number>();
    const totals = new Map<Member, number>();
    for (const line of lines.slice(1)) {
      const cols = line.split(",");
      const m = owner.get(`${cols[px]}/${cols[sv]}`);
      if (m === undefined) continue;
      sessions.set(m, (sessions.get(m) ?? 0) + Number(cols[scur] ?? 0));
      totals.set(m, (totals.get(m) ?? 0) + Number(cols[stot] ?? 0));
    }
    const previousGone = this.previousWorker !== null && !alive(this.previousWorker);
    if (previousGone) this.previousWorker = null;
    for (const m of this.members.values()) {
      const now = sessions.get(m) ?? 0;
      const total = totals.get(m) ?? m.served;
      const before = m.counted + m.legacy;
      if (previousGone) m.legacy = 0;
      m.counted = now;
      if (now + m.legacy !== before) m.fn.load.sessions(m.c, now + m.legacy);
      // Requests that came and went since the last count: used just now, though nothing is in flight.
      else if (total > m.served && now === 0 && m.c.phase === "ready") {
        m.fn.load.touched(m.c);
      }
      m.served = total;
    }
  }
}
