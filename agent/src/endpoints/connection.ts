/**
 * The gateway's connections are met here before node:http sees them. Requests for web-server endpoints
 * are parsed with http-parser-js and proxied straight from the socket (upstream.ts), one at a time per
 * connection, with the routing, method and token checks of fastify's web route (web.ts `resolveWeb`).
 * The first request that is anything else (an API call, a function endpoint, an upgrade, a refusal to
 * answer, HTTP/1.0, a request the parser rejects) hands the connection to node:http, with every byte
 * from that request's first one, for the rest of its life; node:http and fastify then answer it exactly
 * as they would have.
 *
 * Why: on this path node:http's per-request objects cost more than the whole extra loopback hop
 * (BENCHMARKS.md, e2), and "as fast as the reverse proxy a user would otherwise put in front" is the
 * product's promise for web-server endpoints.
 */
import type * as http from "node:http";
import type * as net from "node:net";
import { HTTPParser } from "http-parser-js";
import { strictParser, validFieldValue, validLength, validTarget, type Parser } from "./http1";
import type { Agent } from "../agent";
import { acquire, begin, errorResponse, forwardHeaders, readyTarget, type Target, Unavailable } from "./proxy";
import { BY_DOMAIN, rewriteForDomain, WEB_PREFIX } from "./routing";
import type { FunctionRuntime } from "../dispatcher/function";
import type { RequestBody, RequestHead, ResponseSink } from "./upstream";
import { resolveWeb } from "./web";

/** Thrown from a parser callback to stop `execute` at the current message boundary. */
const STOP = Symbol("stop");

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

/** Pipelined bytes held while a request is answered, beyond which the client is not read from. */
const QUEUE_LIMIT = 64 * 1024;

/**
 * Puts the fast path in front of `server` (fastify's node:http server). Returns what closes the
 * connections it still holds, for the gateway's close: from then on a new connection is refused, since
 * node:http's close would otherwise wait on one accepted before the listener stops.
 */
export function meetConnections(server: http.Server, agent: Agent): () => void {
  const httpListeners = server.listeners("connection") as Array<(socket: net.Socket) => void>;
  server.removeAllListeners("connection");
  const open = new Set<net.Socket>();
  let closing = false;
  const toHttp = (socket: net.Socket): void => {
    open.delete(socket);
    for (const listener of httpListeners) listener.call(server, socket);
  };
  server.on("connection", (socket: net.Socket) => {
    if (closing) return void socket.destroy();
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    new WebConnection(agent, socket, toHttp, server.keepAliveTimeout, server.headersTimeout);
  });
  return () => {
    closing = true;
    for (const socket of open) socket.destroy();
  };
}

/** What the fast path decides on, from one pass over the request headers. */
interface Framing {
  host: string | undefined;
  authorization: string | undefined;
  expect: string | undefined;
  /** Null: chunked. */
  length: number | null;
  /** Whether node:http could read it differently (duplicates, bad values): then it is node:http's request. */
  ambiguous: boolean;
}

function framing(raw: readonly string[]): Framing {
  const out: Framing = { host: undefined, authorization: undefined, expect: undefined, length: 0, ambiguous: false };
  let hosts = 0;
  let lengths = 0;
  let encodings = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const value = raw[i + 1] as string;
    if (!validFieldValue(value)) out.ambiguous = true;
    switch ((raw[i] as string).toLowerCase()) {
      case "host":
        hosts++;
        out.host = value;
        break;
      case "authorization":
        out.authorization ??= value;
        break;
      case "expect":
        out.expect = value.toLowerCase();
        break;
      case "content-length":
        lengths++;
        if (validLength(value)) out.length = Number(value);
        else out.ambiguous = true;
        break;
      case "transfer-encoding":
        encodings++;
        if (value.toLowerCase() === "chunked") out.length = null;
        else out.ambiguous = true;
        break;
    }
  }
  if (hosts !== 1 || lengths > 1 || encodings > 1 || (lengths === 1 && encodings === 1)) out.ambiguous = true;
  return out;
}

class WebConnection {
  private readonly parser: Parser = strictParser(HTTPParser.REQUEST);
  /** Bytes of the current request from its first one, kept until its head is parsed (for a handoff). */
  private retained: Buffer[] = [];
  /** When the current request's first byte came: its head must be complete within headersTimeout, as in node:http. */
  private headStarted = 0;
  /** Bytes that arrived while a request was being answered: the next requests, parsed after it. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private headParsed = false;
  private requestDone = false;
  private responseDone = false;
  private keepAlive = true;
  /** The request body on its way upstream; null while the target is being acquired. */
  private body: RequestBody | null = null;
  private early: Buffer[] = [];
  /** Reading from the client waits for upstream (drain, or the target while it is acquired). */
  private bodyWait = false;
  private aborted = false;
  private handedOff = false;
  private end: (() => void) | null = null;

  constructor(
    private readonly agent: Agent,
    private readonly socket: net.Socket,
    private readonly toHttp: (socket: net.Socket) => void,
    keepAliveMs: number,
    private readonly headersTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(keepAliveMs);
    socket.on("timeout", this.onIdle);
    this.parser[HTTPParser.kOnHeadersComplete] = (info) => this.onHead(info);
    this.parser[HTTPParser.kOnBody] = (chunk, offset, length) => this.onBody(chunk.subarray(offset, offset + length));
    this.parser[HTTPParser.kOnMessageComplete] = () => this.onRequestEnd();
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onClose);
    socket.on("close", this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!(this.headParsed && this.requestDone)) return this.feed(chunk);
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    this.flow();
  };

  /**
   * No bytes for keepAliveTimeout: between requests (node:http's keepAliveTimeout) or in the middle of
   * one (a stalled head or upload) the connection is closed; an answer in progress (an event stream)
   * is never timed out.
   */
  private readonly onIdle = (): void => {
    if (!this.headParsed || !this.requestDone) this.socket.destroy();
  };

  /** The client half-closed: nothing more will come, so the connection ends after the answer in progress. */
  private readonly onEnd = (): void => {
    if (!this.headParsed) return void this.socket.destroy();
    this.keepAlive = false;
  };

  private readonly onClose = (): void => {
    if (this.handedOff || this.aborted) return;
    this.aborted = true;
    this.body?.abort();
    this.end?.();
  };

  /** Reads from the client unless upstream or the pipelined queue is full. */
  private flow(): void {
    if (this.handedOff || this.aborted) return;
    if (this.bodyWait || this.queuedBytes > QUEUE_LIMIT) this.socket.pause();
    else this.socket.resume();
  }

  private feed(chunk: Buffer): void {
    if (!this.headParsed) {
      // A head trickled in byte by byte (slowloris) is cut off like node:http cuts it off.
      const now = Date.now();
      if (this.retained.length === 0) this.headStarted = now;
      else if (now - this.headStarted > this.headersTimeoutMs) return void this.socket.destroy();
      this.retained.push(chunk);
    }
    let result: number | Error = 0;
    try {
      result = this.parser.execute(chunk);
    } catch (err) {
      if (err !== STOP) result = err as Error;
    }
    if (this.handedOff) return;
    // A request node:http should refuse (400) goes to it whole; one that breaks mid-body ends the connection.
    if (result instanceof Error) {
      if (!this.headParsed) this.handOff();
      else this.socket.destroy();
      return;
    }
    if (this.requestDone && this.responseDone) this.next();
  }

  private onHead(info: Parameters<Parser[typeof HTTPParser.kOnHeadersComplete]>[0]): number {
    const raw = info.headers;
    const f = framing(raw);
    if (f.ambiguous || info.upgrade || info.versionMajor !== 1 || info.versionMinor !== 1 || !validTarget(info.url)) return this.handOffNow();
    const method = HTTPParser.methods[info.method] as string;
    const req = { url: info.url, headers: { host: f.host } };
    const url = rewriteForDomain(this.agent, req);
    if (!url.startsWith(`${WEB_PREFIX}/`)) return this.handOffNow();
    const byDomain = (req as Record<symbol, unknown>)[BY_DOMAIN] === true;
    const found = resolveWeb(this.agent, method, url, f.host, byDomain, f.authorization);
    if ("status" in found || found.spec.kind !== "webServer") return this.handOffNow();
    this.headParsed = true;
    this.retained = [];
    this.keepAlive = info.shouldKeepAlive;
    if (f.expect === "100-continue") this.socket.write(CONTINUE);
    const head = { method, path: found.sub + found.query, headers: forwardHeaders(this.agent, raw, this.socket.remoteAddress), length: f.length };
    const { spec, fn } = found;
    const target = readyTarget(fn);
    if (target !== null) this.start(target, head, fn);
    else {
      // Held at zero containers: the body waits in the client's socket, not in memory.
      this.bodyWait = true;
      this.flow();
      acquire(this.agent, spec, fn).then(
        (t) => this.start(t, head, fn),
        (err: Error) => this.refuse(err instanceof Unavailable ? err : new Unavailable(502, "WP_ERR_UPSTREAM", err.message)),
      );
    }
    return 0;
  }

  private start(target: Target, head: RequestHead, fn: FunctionRuntime): void {
    if (this.aborted) return;
    this.end = begin(fn, target.c);
    this.body = this.agent.upstreams.exchange(target.host, target.port, head, this.sink(fn.key));
    this.bodyWait = false;
    const early = this.early;
    this.early = [];
    for (const chunk of early) this.write(chunk);
    if (this.requestDone) this.body.end();
    this.flow();
  }

  /** The target could not be had (startup timeout, overload): answer, and close (the body may still be coming). */
  private refuse(err: Unavailable): void {
    if (this.aborted) return;
    this.aborted = true;
    this.early = [];
    this.socket.end(errorResponse(err.status, err.code, err.message));
  }

  private sink(fnKey: string): ResponseSink {
    const socket = this.socket;
    let chunked = false;
    return {
      head: (status, reason, headers, length, bodyless) => {
        chunked = length === null && !bodyless;
        let out = `HTTP/1.1 ${status} ${reason}\r\n`;
        for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
        if (length !== null) out += `content-length: ${length}\r\n`;
        else if (chunked) out += "transfer-encoding: chunked\r\n";
        if (!this.keepAlive) out += "connection: close\r\n";
        socket.cork();
        socket.write(`${out}\r\n`, "latin1");
        process.nextTick(() => socket.uncork());
      },
      data: (chunk) => {
        if (!chunked) return socket.write(chunk);
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        return socket.write("\r\n");
      },
      drain: (resume) => socket.once("drain", resume),
      end: () => {
        if (chunked) socket.write("0\r\n\r\n");
        this.end?.();
        this.responseDone = true;
        // After the upstream parser's callback has returned: the next request may reuse that connection.
        process.nextTick(() => this.next());
      },
      fail: (err, started) => {
        this.end?.();
        if (started || this.aborted) return void socket.destroy();
        this.aborted = true;
        socket.end(errorResponse(502, "WP_ERR_UPSTREAM", `the web server of ${fnKey} failed: ${err.message}`));
      },
    };
  }

  private write(chunk: Buffer): void {
    const body = this.body as RequestBody;
    if (body.write(chunk) || this.bodyWait) return;
    this.bodyWait = true;
    this.flow();
    body.drain(() => {
      this.bodyWait = false;
      this.flow();
    });
  }

  private onBody(chunk: Buffer): void {
    if (this.aborted) return;
    if (this.body === null) this.early.push(chunk);
    else this.write(chunk);
  }

  private onRequestEnd(): void {
    this.requestDone = true;
    this.body?.end();
    // Parsing stops at the request's end: pipelined bytes after it wait until its answer is out.
    const p = this.parser;
    if (p.offset < p.end) {
      const rest = p.chunk.subarray(p.offset, p.end);
      this.queued.unshift(rest);
      this.queuedBytes += rest.length;
      throw STOP;
    }
  }

  /** Both the request and its answer are done: on to the next request, if the connection stays open. */
  private next(): void {
    if (!this.requestDone || !this.responseDone || this.aborted || this.handedOff) return;
    if (!this.keepAlive) return void this.socket.end();
    this.parser.reinitialize(HTTPParser.REQUEST);
    this.headParsed = this.requestDone = this.responseDone = false;
    this.body = null;
    this.end = null;
    while (this.queued.length > 0 && !this.handedOff && !this.aborted && !(this.headParsed && this.requestDone)) {
      const chunk = this.queued.shift() as Buffer;
      this.queuedBytes -= chunk.length;
      this.feed(chunk);
    }
    this.flow();
  }

  /** From a parser callback: hand off, and stop the parser. */
  private handOffNow(): never {
    this.handOff();
    throw STOP;
  }

  /** node:http takes the connection over from the current request's first byte. */
  private handOff(): void {
    this.handedOff = true;
    const socket = this.socket;
    socket.pause();
    socket.removeListener("data", this.onData);
    socket.removeListener("end", this.onEnd);
    socket.removeListener("error", this.onClose);
    socket.removeListener("close", this.onClose);
    socket.removeListener("timeout", this.onIdle);
    socket.setTimeout(0);
    const bytes = Buffer.concat([...this.retained, ...this.queued]);
    if (bytes.length > 0) socket.unshift(bytes);
    this.toHttp(socket);
    socket.resume();
  }
}
