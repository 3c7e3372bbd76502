/**
 * `warmpool status app/fn`: the function's counts, what they mean, its containers and the autoscaler's
 * last decisions. "desired 0, ready 4" is a normal state — the load is gone and the containers wait out
 * their scaledownWindow — and it is said so, with when the next one stops; start failures are shown
 * with the last error, since they are why a function with queued inputs has no container.
 *
 * `explain` is pure (the view and `now` in, lines out), so its cases are tested as a table.
 */
import { clientFrom, type ClientFlags, type Context } from "./commands";
import { target } from "./flags";
import type { Cell } from "./output";

/** What `GET /v1/apps/{app}/functions/{fn}` answers, as far as status reads it. */
export interface FunctionView {
  app: string;
  name: string;
  spec?: { autoscaler?: { minContainers?: number; maxContainers?: number; scaledownWindow?: number } };
  status: {
    replicas: number;
    readyReplicas: number;
    queueDepth: number;
    delayed: number;
    inFlight: number;
    pendingSpawns?: number;
    startFailures?: number;
    lastStartError?: string;
    startFailureRepeats?: boolean;
    startTraceback?: string;
    crashLoop?: { crashes: number; lastExit: string };
    startHeld?: string;
    lastScaleReason?: string;
    lastScaleTime?: string;
  };
  containers: Array<{
    id: string;
    state: string;
    inFlight: number;
    served: number;
    createdAt?: string;
    readyAt: string | null;
    idleSince: string | null;
    ref: string | null;
    port?: number | null;
    gpus?: number[];
  }>;
  events: Array<{ at: string; desired?: number; reason: string }>;
}

export interface Line {
  text: string;
  style?: "red" | "yellow";
}

/** Sentences on the counts: why desired and ready differ, and what failed to start. */
export function explain(v: FunctionView, now: number): Line[] {
  const s = v.status;
  const auto = v.spec?.autoscaler ?? {};
  const starting = v.containers.filter((c) => c.state === "starting").length;
  const draining = v.containers.filter((c) => c.state === "draining").length;
  const ready = v.containers.filter((c) => c.state === "ready");
  const bounds = auto.minContainers !== undefined && auto.maxContainers !== undefined ? `, within [${auto.minContainers}, ${auto.maxContainers}]` : "";
  const lines: Line[] = [
    { text: `desired ${s.replicas}: the containers the autoscaler wants for ${s.inFlight} in flight + ${s.queueDepth} queued${s.delayed > 0 ? ` (+ ${s.delayed} waiting to retry)` : ""}${bounds}.` },
  ];

  const surplus = ready.length - s.replicas;
  if (surplus > 0) {
    const idle = ready.filter((c) => c.inFlight === 0 && c.idleSince !== null);
    const busy = ready.length - idle.length;
    const window = auto.scaledownWindow;
    let when = "";
    if (window !== undefined && idle.length > 0) {
      const next = Math.min(...idle.map((c) => Date.parse(c.idleSince as string) + window * 1000)) - now;
      when = next > 0 ? `; the next in ${Math.ceil(next / 1000)} s` : "; the next at the autoscaler's next tick";
    }
    const windowText = window === undefined ? "their scaledownWindow" : `scaledownWindow (${window} s)`;
    const extra = surplus === 1 ? "the container over desired stops" : `the ${surplus} containers over desired stop`;
    lines.push({
      text: `ready ${s.readyReplicas} > desired ${s.replicas}: ${extra} once idle for ${windowText}${when}${busy > 0 ? `; ${busy} with inputs in flight ${busy === 1 ? "is" : "are"} not stopped before they finish` : ""}.`,
    });
  } else if (s.replicas > ready.length) {
    const missing = s.replicas - ready.length;
    lines.push({
      text: `ready ${s.readyReplicas} < desired ${s.replicas}: ${starting > 0 ? `${starting} starting` : `${missing} to start`}${(s.startFailures ?? 0) > 0 ? ", held back after failed starts (below)" : ""}.`,
      ...((s.startFailures ?? 0) > 0 ? { style: "yellow" as const } : {}),
    });
  } else if (s.replicas === 0 && starting === 0) {
    lines.push({ text: "scaled to zero: the next input starts a container." });
  }
  if (draining > 0) lines.push({ text: `${draining} draining: finishing the inputs they have, then stopping.` });
  if (s.startFailureRepeats === true) {
    lines.push({
      text: `start failures: ${s.startFailures} in a row; the start fails the same way each time (an import error, a missing handler, @enter raising), so the waiting inputs failed at once and it is not retried until the next input arrives; last error:`,
      style: "red",
    });
    for (const l of (s.startTraceback || s.lastStartError || "").split("\n")) lines.push({ text: `  ${l}`, style: "red" });
    lines.push({ text: `  (\`warmpool logs ${v.app}/${v.name}\` shows what the containers printed)` });
  } else if ((s.startFailures ?? 0) > 0) {
    lines.push({ text: `start failures: ${s.startFailures} in a row, retried with a growing backoff (after 3, the waiting inputs fail); last error:`, style: "red" });
    for (const l of (s.lastStartError ?? "").split("\n")) lines.push({ text: `  ${l}`, style: "red" });
    lines.push({ text: `  (\`warmpool logs ${v.app}/${v.name}\` shows what the containers printed)` });
  }
  if (s.startHeld !== undefined) lines.push({ text: `no start now: ${s.startHeld}.`, style: "yellow" });
  if (s.crashLoop !== undefined) {
    lines.push({
      text: `crash loop: ${s.crashLoop.crashes} container(s) in a row exited on their own within a minute of being ready, so each next start waits longer (1 s, doubling to 30 s); last: ${s.crashLoop.lastExit}`,
      style: "red",
    });
    lines.push({ text: `  (\`warmpool logs ${v.app}/${v.name}\` shows what the containers printed)` });
  }
  if (s.lastScaleReason !== undefined) lines.push({ text: `last decision${s.lastScaleTime === undefined ? "" : ` (${s.lastScaleTime})`}: ${s.lastScaleReason}` });
  return lines;
}

export async function statusCommand(ctx: Context<ClientFlags>, t: string): Promise<void> {
  const [app, fn] = target(t);
  const v = (await clientFrom(ctx.flags).status(app, fn)) as unknown as FunctionView;
  const { out } = ctx;
  out.document(v, () => {
    const wide = out.format === "wide";
    const s = v.status;
    const starting = v.containers.filter((c) => c.state === "starting").length;
    out.table(
      ["function", "desired", "ready", "starting", "queued", "delayed", "in flight", ...(wide ? ["pending spawns", "start failures"] : [])],
      [[`${v.app}/${v.name}`, s.replicas, s.readyReplicas, starting, s.queueDepth, s.delayed, s.inFlight, ...(wide ? [s.pendingSpawns ?? 0, s.startFailures ?? 0] : [])]],
    );
    out.write("");
    for (const l of explain(v, Date.now())) out.write(l.style === undefined ? l.text : out.paint(l.style, l.text));
    if (v.containers.length > 0) {
      out.write("");
      out.table(
        ["container", "state", "in flight", "served", "ready at", "idle since", ...(wide ? ["ref", "port", "gpus", "created"] : [])],
        v.containers.map((c): Cell[] => [
          c.id,
          { text: c.state, style: STATE_STYLE[c.state] ?? "reset" },
          c.inFlight,
          c.served,
          c.readyAt,
          c.inFlight === 0 ? c.idleSince : "busy",
          ...(wide ? [c.ref, c.port, (c.gpus ?? []).join(",") || "-", c.createdAt] : []),
        ]),
      );
    }
    if (v.events.length > 0) {
      out.write("");
      out.table(
        ["time", "desired", "autoscaler decision"],
        v.events.slice(wide ? -50 : -10).map((e) => [e.at, e.desired, e.reason]),
      );
    }
  });
}

const STATE_STYLE: Record<string, "green" | "yellow" | "red"> = { ready: "green", starting: "yellow", draining: "yellow", failed: "red" };
