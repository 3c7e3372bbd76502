/**
 * Container output: `GET …/functions/{fn}/logs`.
 *
 * `logs?tail=N` answers one JSON document (each container's last lines, and with the local backend
 * `times`: when the agent read each from the container, ISO). With `follow=true` or `since=<seconds>`
 * the answer is NDJSON instead, streamed: `{"container", "line", "time", "stream"}` per line (`time`
 * ISO or null where unknown; `stream` stdout or stderr), one
 * `{"caughtUp": true}` after the history, and with `follow` the lines that follow until the client goes
 * away. Its disconnect stops the follower (an interval timer); nothing else is held for it. A reader
 * that does not keep up is not read for (the log files are the buffer), so a slow client costs the
 * agent at most one chunk.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AgentError } from "../errors";
import type { GatewayDeps } from "./deps";

type LogsRequest = FastifyRequest<{ Params: { app: string; fn: string }; Querystring: { tail?: string; follow?: string; since?: string } }>;

/** Bytes queued on the response above which the follower stops reading. */
const HIGH_WATER = 256 << 10;
/** Whole days at most: `since` beyond a year is a typo. */
const MAX_SINCE_S = 366 * 24 * 3600;

export function registerLogs(app: FastifyInstance, deps: GatewayDeps): void {
  const { registry, metrics } = deps;
  app.get("/v1/apps/:app/functions/:fn/logs", async function getLogs(req: LogsRequest, reply: FastifyReply) {
    const fn = registry.lookup(req.params.app, req.params.fn);
    const q = req.query;
    const tail = q.tail === undefined ? 200 : Number(q.tail);
    if (!Number.isInteger(tail) || tail < 1 || tail > 100_000) throw new AgentError("WP_ERR_BAD_REQUEST", [`tail = ${JSON.stringify(q.tail)}: must be a whole number from 1 to 100000`]);
    const follow = flag("follow", q.follow);
    const since = q.since === undefined ? null : Number(q.since);
    if (since !== null && (q.since === "" || !Number.isFinite(since) || since < 0 || since > MAX_SINCE_S)) {
      throw new AgentError("WP_ERR_BAD_REQUEST", [`since = ${JSON.stringify(q.since)}: must be a number of seconds from 0 to ${MAX_SINCE_S}`]);
    }
    if (!follow && since === null) {
      const containers = await fn.pool.logs(tail);
      return { containers: containers.map((c) => ({ container: c.container, lines: c.lines, ...(c.times === undefined ? {} : { times: c.times.map(iso) }) })) };
    }

    const raw = reply.raw;
    let follower: { close(): void } | null = null;
    const stop = (): void => {
      if (follower === null) return;
      follower.close();
      follower = null;
      if (follow) metrics.logFollowers.dec();
    };
    follower = fn.pool.followLogs(
      { tailLines: tail, sinceMs: since === null ? 0 : Date.now() - since * 1000, follow },
      {
        lines(lines) {
          if (!raw.headersSent) start(raw);
          let text = "";
          for (const l of lines) text += `${JSON.stringify({ container: l.container, line: l.line, time: iso(l.time), ...(l.stream === undefined ? {} : { stream: l.stream }) })}\n`;
          raw.write(text);
        },
        caughtUp() {
          if (!raw.headersSent) start(raw);
          raw.write('{"caughtUp":true}\n');
          if (!follow) raw.end();
        },
        paused: () => raw.writableLength > HIGH_WATER,
      },
    );
    if (follower === null) throw new AgentError("WP_ERR_NOT_IMPLEMENTED", [`following logs needs the local backend; this agent runs ${fn.config.key} on another (with kubernetes: kubectl logs -f)`]);
    if (follow) metrics.logFollowers.inc();
    // The client went away (or the agent closes): the timer goes with it.
    raw.once("close", stop);
    if (raw.destroyed) stop();
    return reply.hijack();
  });
}

function iso(time: number | null): string | null {
  return time === null ? null : new Date(time).toISOString();
}

function start(raw: FastifyReply["raw"]): void {
  raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-content-type-options": "nosniff" });
}

function flag(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1" || raw === "") return true;
  throw new AgentError("WP_ERR_BAD_REQUEST", [`${name} = ${JSON.stringify(raw)}: must be true or false`]);
}
