/**
 * Request bodies must keep arriving. A client that sends one byte every 5 s held a connection (and,
 * at zero containers, a held request) for 330 s and more on every route; Node's own `requestTimeout`
 * is one total deadline, which either cuts large uploads on slow links or lets a trickle run for
 * minutes. This is Apache mod_reqtimeout's rule instead (`body=20,MinRate=500`): a body gets
 * `graceMs` to start, and its deadline moves 1 s later for every `minRate` bytes received. A 16 MiB
 * upload at 100 KiB/s is well inside it; one byte every 5 s is cut after 20 s. The answer is
 * `408 WP_ERR_REQUEST_TIMEOUT` when nothing was answered yet, and the connection closes.
 *
 * Only time the gateway spends reading counts: while the body waits on the gateway (the map route
 * reads its NDJSON inputs only as fast as it admits them, so its socket is paused for as long as the
 * function is busy), the clock stands still. Otherwise a long map would be cut as a slow client.
 *
 * Heads have their own deadline: node:http's `headersTimeout`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AgentError, rawResponse } from "../errors";

export interface SlowBodyOptions {
  graceMs: number;
  /** Bytes per second a body must average after the grace. */
  minRate: number;
}

interface Watched {
  req: IncomingMessage;
  res: ServerResponse;
  bytesAtStart: number;
  /** Time spent reading so far (checks during which the gateway did not hold the body back). */
  readingMs: number;
  lastCheck: number;
}

/** How often bodies in progress are checked: how late past its deadline a body can be cut. */
const CHECK_MS = 1000;

export class SlowBodies {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SlowBodyOptions) {}

  /** Watches `req` until its body has arrived (requests without a body are never watched). */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (req.complete || (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) || req.headers["content-length"] === "0") return;
    const w: Watched = { req, res, bytesAtStart: req.socket.bytesRead, readingMs: 0, lastCheck: Date.now() };
    this.watched.add(w);
    const done = (): void => void this.watched.delete(w);
    req.once("end", done);
    req.once("close", done);
    this.timer ??= setInterval(() => this.check(), CHECK_MS).unref();
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.watched) {
      if (w.req.complete || w.req.socket.destroyed) {
        this.watched.delete(w);
        continue;
      }
      const heldBack = w.req.socket.isPaused() || w.req.readableLength >= w.req.readableHighWaterMark;
      if (!heldBack) w.readingMs += now - w.lastCheck;
      w.lastCheck = now;
      const received = w.req.socket.bytesRead - w.bytesAtStart;
      if (w.readingMs < this.options.graceMs + (received / this.options.minRate) * 1000) continue;
      this.watched.delete(w);
      const err = new AgentError("WP_ERR_REQUEST_TIMEOUT", [
        `the request body arrived too slowly: ${received} bytes in ${Math.round(w.readingMs / 1000)} s of reading (at least ${this.options.minRate} bytes/s after the first ${this.options.graceMs / 1000} s)`,
      ]);
      const socket = w.req.socket;
      if (!w.res.headersSent && socket.writable) socket.end(rawResponse(err), () => socket.destroy());
      else socket.destroy();
    }
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.watched.clear();
  }
}
