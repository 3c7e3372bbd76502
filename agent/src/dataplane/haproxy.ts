/**
 * The HAProxy data plane: with `dataPlane: "haproxy"` the gateway's public address is HAProxy's, and
 * requests for webServer endpoints with a ready container go from HAProxy straight to the container's
 * web server; everything else reaches the agent's own listener behind it (haproxy-config.ts says which).
 *
 * Why: a proxy in the agent's JavaScript adds ×2–3 of what nginx adds to a request (BENCHMARKS.md, e2);
 * HAProxy adds what nginx adds, and it can be reconfigured at run time. The agent keeps the decisions:
 * - The configuration is rendered from the deployed endpoints and reloaded (seamlessly, master-worker) when they change.
 * - Ready containers are added as servers through the runtime API, and removed when they stop or drain.
 * - Requests in flight in HAProxy (each server's current sessions, polled) count as inputs in flight on
 *   their container and function, so the autoscaler scales on them and never stops a container under them.
 * - A draining container is first taken out of HAProxy; its count is read again after that before it
 *   may stop (a request routed just before is still counted).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Logger } from "pino";
import type { Container } from "../dispatcher/container";
import type { FunctionRuntime } from "../dispatcher/function";
import { webPortOf } from "../endpoints/proxy";
import { backendName, renderConfig, slotName, type DataPlaneApp } from "./haproxy-config";

export interface HaproxyOptions {
  binary: string;
  /** Where the configuration and the runtime API socket live (the agent's state dir). */
  dir: string;
  bind: { host: string; port: number };
  agent: { host: string; port: number };
  token: string;
  log: Logger;
  /** How often current sessions are read (and so how stale the autoscaler's view of web traffic can be). */
  pollMs?: number;
}

/** A webServer endpoint's backend and the function whose containers serve it. */
export interface ServedEndpoint {
  app: string;
  endpoint: string;
  fn: FunctionRuntime;
}

interface Member {
  fn: FunctionRuntime;
  c: Container;
  host: string;
  port: number;
  /** The slot it holds in each backend (held until its sessions are counted at zero). */
  slots: Map<string, string>;
  /** Backends whose slot is in rotation. */
  live: Set<string>;
  /** Sessions last counted on it, as applied to its inFlight. */
  counted: number;
  /** Draining: the hold on inFlight until a count taken after it left rotation is applied. */
  hold: boolean;
}

export class HaproxyDataPlane {
  private process: ChildProcess | null = null;
  private readonly configPath: string;
  private readonly socketPath: string;
  private config = "";
  private served: ServedEndpoint[] = [];
  private readonly members = new Map<string, Member>();
  private syncing: Promise<void> = Promise.resolve();
  private updating: Promise<void> = Promise.resolve();
  private dirty = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: HaproxyOptions) {
    this.configPath = path.join(options.dir, "haproxy.cfg");
    this.socketPath = path.join(options.dir, "haproxy.sock");
  }

  get url(): string {
    return `http://${this.options.bind.host}:${this.options.bind.port}`;
  }

  /** Starts HAProxy with the configuration of `apps`; resolves once it answers on its runtime API. */
  async start(apps: readonly DataPlaneApp[], served: ServedEndpoint[]): Promise<void> {
    this.served = served;
    this.writeConfig(apps);
    const child = spawn(this.options.binary, ["-W", "-db", "-f", this.configPath], { stdio: ["ignore", "ignore", "pipe"] });
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
    const exited = new Promise<"exited">((resolve) => child.once("exit", () => resolve("exited")));
    const failed = new Promise<Error>((resolve) => child.once("error", resolve));
    const first = await Promise.race([this.waitForWorker(null).then(() => "ready" as const), exited, failed]);
    if (first instanceof Error) throw new Error(`data plane haproxy: cannot run ${JSON.stringify(this.options.binary)} (${first.message}); install HAProxy 2.6 or later, or use the agent's own proxy (--data-plane agent)`);
    if (first === "exited") throw new Error(`data plane haproxy: ${this.options.binary} exited before it was ready: ${stderr.trim().split("\n").slice(-5).join(" / ")}`);
    child.once("exit", (code, signal) => {
      if (!this.closed) this.options.log.error({ event: "dataplane.exited", code, signal }, "haproxy exited: web-server endpoints are unreachable until the agent restarts");
    });
    this.pollTimer = setInterval(() => void this.poll().catch(() => undefined), this.options.pollMs ?? 100);
    this.pollTimer.unref();
    this.sync();
  }

  /** A deploy changed the endpoints: rewrite the configuration and reload when it differs; servers are added again. */
  update(apps: readonly DataPlaneApp[], served: ServedEndpoint[]): Promise<void> {
    // One reload at a time, in deploy order.
    this.updating = this.updating.then(() => this.reload(apps, served));
    return this.updating;
  }

  private async reload(apps: readonly DataPlaneApp[], served: ServedEndpoint[]): Promise<void> {
    if (this.closed) return;
    this.served = served;
    if (this.process === null || !this.writeConfig(apps)) return this.sync();
    const before = await this.workerPid();
    this.process.kill("SIGUSR2");
    await this.waitForWorker(before);
    // The new process starts with every slot in maintenance (and counts nothing of the old one's sessions): slots are filled again.
    for (const m of this.members.values()) {
      m.slots.clear();
      m.live.clear();
    }
    this.sync();
  }

  /** Brings HAProxy's servers in line with the ready containers (coalesced; runs one at a time). */
  sync(): void {
    if (this.closed || this.process === null) return;
    if (this.dirty) return;
    this.dirty = true;
    this.syncing = this.syncing
      .then(() => {
        this.dirty = false;
        return this.reconcile();
      })
      .catch((err: Error) => this.options.log.warn({ event: "dataplane.syncFailed", error: err.message }, "haproxy server sync failed; retried on the next change"));
  }

  /** A container is draining: hold it busy until HAProxy no longer routes to it and its sessions are counted. */
  draining(fn: FunctionRuntime, c: Container): void {
    const m = this.members.get(c.id);
    if (m === undefined || m.hold) return;
    m.hold = true;
    fn.proxied(c, 1);
    this.sync();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    await this.updating.catch(() => undefined);
    await this.syncing;
    const child = this.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  }

  /** Writes the configuration; false when it is unchanged. */
  private writeConfig(apps: readonly DataPlaneApp[]): boolean {
    const o = this.options;
    const config = renderConfig({ apps, bind: o.bind, agent: o.agent, token: o.token, socket: this.socketPath });
    if (config === this.config) return false;
    this.config = config;
    fs.writeFileSync(this.configPath, config, { mode: 0o600 });
    return true;
  }

  private async reconcile(): Promise<void> {
    const want = new Map<string, { fn: FunctionRuntime; c: Container; backends: Set<string> }>();
    const slotsOf = new Map<string, number>();
    for (const s of this.served) {
      const be = backendName(s.app, s.endpoint);
      slotsOf.set(be, Math.max(1, s.fn.scale.maxContainers));
      for (const c of s.fn.containers) {
        if (c.phase !== "ready") continue;
        const w = want.get(c.id) ?? { fn: s.fn, c, backends: new Set<string>() };
        w.backends.add(be);
        want.set(c.id, w);
      }
    }
    for (const [id, w] of want) {
      let m = this.members.get(id);
      if (m === undefined) {
        const handle = w.c.handle as NonNullable<Container["handle"]>;
        m = { fn: w.fn, c: w.c, host: handle.host, port: await webPortOf(w.fn, w.c), slots: new Map(), live: new Set(), counted: 0, hold: false };
        this.members.set(id, m);
      }
      for (const be of w.backends) {
        if (m.live.has(be)) continue;
        let slot = m.slots.get(be);
        if (slot === undefined) {
          slot = this.freeSlot(be, slotsOf.get(be) ?? 1);
          if (slot === undefined) continue; // more ready containers than maxContainers: the agent's proxy serves the rest
          m.slots.set(be, slot);
        }
        await this.command(`set server ${be}/${slot} addr ${m.host} port ${m.port}`, /changed|no need to change/);
        await this.command(`set server ${be}/${slot} state ready`);
        m.live.add(be);
      }
    }
    for (const [id, m] of this.members) {
      const keep = want.get(id)?.backends ?? new Set<string>();
      for (const be of [...m.live]) {
        if (keep.has(be)) continue;
        // Maintenance: no new requests; those on it finish.
        await this.command(`set server ${be}/${m.slots.get(be) as string} state maint`);
        m.live.delete(be);
      }
      if (keep.size > 0) continue;
      if (m.hold) {
        // Counted after it left every rotation: what is left on it finishes, nothing new comes.
        await this.poll();
        m.hold = false;
        m.fn.proxied(m.c, -1);
      }
      if (m.counted === 0) this.members.delete(id);
    }
    // A member kept for its sessions is let go by a later sync, once they are done.
    if ([...this.members.keys()].some((id) => !want.has(id))) setTimeout(() => this.sync(), 200).unref();
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

  /** Reads every slot's current sessions and applies the change to its container's inFlight. */
  private async poll(): Promise<void> {
    if (this.members.size === 0) return;
    const owner = new Map<string, Member>();
    for (const m of this.members.values()) for (const [be, slot] of m.slots) owner.set(`${be}/${slot}`, m);
    const csv = await this.command("show stat -1 4 -1");
    const lines = csv.split("\n");
    const header = (lines[0] ?? "").replace(/^# /, "").split(",");
    const px = header.indexOf("pxname");
    const sv = header.indexOf("svname");
    const scur = header.indexOf("scur");
    const counts = new Map<Member, number>();
    for (const line of lines.slice(1)) {
      const cols = line.split(",");
      const m = owner.get(`${cols[px]}/${cols[sv]}`);
      if (m !== undefined) counts.set(m, (counts.get(m) ?? 0) + Number(cols[scur] ?? 0));
    }
    for (const m of this.members.values()) {
      const now = counts.get(m) ?? 0;
      if (now !== m.counted) {
        m.fn.proxied(m.c, now - m.counted);
        m.counted = now;
      }
    }
  }

  private async command(cmd: string, expect?: RegExp): Promise<string> {
    const out = await this.request(cmd);
    if (expect !== undefined ? !expect.test(out) : out.trim() !== "" && !/^(# |Done|New server|Server deleted)/.test(out)) {
      throw new Error(`haproxy refused "${cmd}": ${out.trim().slice(0, 300)}`);
    }
    return out;
  }

  /** One runtime API command (the socket answers one command and closes). */
  private request(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.socketPath, () => socket.end(`${cmd}\n`));
      let out = "";
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => (out += d));
      socket.on("error", reject);
      socket.on("close", () => resolve(out));
    });
  }

  private async workerPid(): Promise<string | null> {
    try {
      return /^Pid: (\d+)/m.exec(await this.request("show info"))?.[1] ?? null;
    } catch {
      return null;
    }
  }

  /** Waits until a worker other than `before` answers on the runtime API. */
  private async waitForWorker(before: string | null): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const pid = await this.workerPid();
      if (pid !== null && pid !== before) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not answer on ${this.socketPath} within 10 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
