/**
 * One request/response exchange with a container's web server, over kept-alive connections (a pool
 * per `host:port`, bounded in size and idle time like nginx's upstream `keepalive`). The request head is written here from headers the caller already filtered
 * (proxy.ts `forwardHeaders`), the client's `Host` kept (as HAProxy and `proxy_set_header Host $host` do); the response is parsed (http1.ts) only
 * to find its head and where it ends, and handed to a `ResponseSink` piece by piece as it arrives, so
 * server-sent events and chunked answers stream through with no buffering. A response the parser
 * cannot read the way node:http would, or with bytes after its end, fails the exchange (502 when
 * nothing was sent yet) and its connection is closed, never reused.
 *
 * Why not an HTTP client library: on the gateway's hot path a client's per-request machinery (request
 * objects, streams, header objects) costs more than the whole extra loopback hop; BENCHMARKS.md (e2)
 * has the numbers. Framing is the parser's; this module only moves bytes.
 */
import * as net from "node:net";
import { HTTPParser } from "http-parser-js";
import { strictParser, validFieldValue, validLength, type Parser } from "./http1";

/** Never forwarded in either direction: hop-by-hop (RFC 9110 §7.6.1), or framing this proxy sets itself. */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect"]);

export interface RequestHead {
  method: string;
  /** Path and query as the web server should see them. */
  path: string;
  /** Flat `[name, value, ...]`, end-to-end headers only, with the client's Host (the upstream's address when it sent none). */
  headers: string[];
  /** The body's length, or null: a body of unknown length, sent chunked. */
  length: number | null;
}

/** Where a response goes: the client's raw socket (connection.ts) or node:http's ServerResponse (proxy.ts). */
export interface ResponseSink {
  /** `headers` are end-to-end only; `length` null: the body's length is unknown (chunked or close-delimited upstream). */
  head(status: number, reason: string, headers: string[], length: number | null, bodyless: boolean): void;
  /** False: the client is not keeping up; `drain` is then awaited before more is read from upstream. */
  data(chunk: Buffer): boolean;
  drain(resume: () => void): void;
  end(): void;
  /** The exchange failed; `started`: the head was already handed on. */
  fail(err: Error, started: boolean): void;
}

export interface RequestBody {
  /** False: upstream is not keeping up; call `drain`. */
  write(chunk: Buffer): boolean;
  drain(resume: () => void): void;
  end(): void;
  /** The client went away: the upstream connection is closed, not reused. */
  abort(): void;
}

interface Connection {
  readonly socket: net.Socket;
  readonly parser: Parser;
  readonly key: string;
  exchange: Exchange | null;
}

interface Exchange {
  sink: ResponseSink;
  head: boolean;
  started: boolean;
  requestSent: boolean;
  keepAlive: boolean;
  done: boolean;
  interim: boolean;
  /** Sends the request again on a new connection: set while that is safe (see `exchange`). */
  retry: (() => void) | null;
}

export interface UpstreamOptions {
  /** Idle connections kept per web server; one released beyond this is closed (as nginx's `keepalive N`). */
  maxIdlePerServer: number;
  /**
   * An idle connection is closed after this long. Below the keep-alive timeouts web servers commonly
   * use (uvicorn and node:http 5 s), so that the proxy closes first: a request sent on a connection
   * the server is closing at that moment fails, and only bodiless GET/HEAD/OPTIONS can be sent again.
   */
  idleTimeoutMs: number;
}

export const UPSTREAM_DEFAULTS: UpstreamOptions = { maxIdlePerServer: 64, idleTimeoutMs: 4000 };

/** Thrown from a parser callback to stop `execute` once the response is over. */
const STOP = Symbol("stop");

/** Methods sent again on a new connection when a kept-alive one fails before any answer (as nginx does). */
const RETRIED = new Set(["GET", "HEAD", "OPTIONS"]);

/** The agent's kept-alive connections to its containers' web servers. */
export class Upstreams {
  private readonly idle = new Map<string, Connection[]>();
  private closed = false;

  constructor(private readonly options: UpstreamOptions = UPSTREAM_DEFAULTS) {}

  /** Idle connections to `host:port` (what the pool holds, for tests and status). */
  idleCount(host: string, port: number): number {
    return this.idle.get(`${host}:${port}`)?.length ?? 0;
  }

  /** Closes every idle connection; exchanges in progress end with their clients. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const conn of list) conn.socket.destroy();
    this.idle.clear();
  }

  /**
   * Starts an exchange: the head is written now; the body follows through the returned writer. A kept-
   * alive connection can be closed by the server just as it is reused (a keep-alive timeout racing the
   * next request); a bodiless GET/HEAD/OPTIONS that meets that is sent once more on a new connection.
   */
  exchange(host: string, port: number, req: RequestHead, sink: ResponseSink): RequestBody {
    const key = `${host}:${port}`;
    const x: Exchange = { sink, head: req.method === "HEAD", started: false, requestSent: false, keepAlive: false, done: false, interim: false, retry: null };
    const chunked = req.length === null;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
    let hasHost = false;
    for (let i = 0; i < req.headers.length; i += 2) {
      const name = req.headers[i] as string;
      if (name.length === 4 && name.toLowerCase() === "host") hasHost = true;
      head += `${name}: ${req.headers[i + 1]}\r\n`;
    }
    if (!hasHost) head += `host: ${key}\r\n`;
    head += chunked ? "transfer-encoding: chunked\r\n\r\n" : req.length === 0 ? "\r\n" : `content-length: ${req.length}\r\n\r\n`;
    let conn: Connection;
    const send = (reused: Connection | undefined): void => {
      conn = reused ?? this.connect(host, port, key);
      x.retry = reused !== undefined && req.length === 0 && RETRIED.has(req.method) ? () => send(undefined) : null;
      conn.exchange = x;
      conn.parser.reinitialize(HTTPParser.RESPONSE);
      const socket = conn.socket;
      // Head and a small body leave in one write (one packet, one wake-up of the server).
      socket.cork();
      socket.write(head, "latin1");
      process.nextTick(() => socket.uncork());
    };
    send(this.idle.get(key)?.pop());
    if (req.length === 0) x.requestSent = true;
    return {
      write(chunk) {
        const socket = conn.socket;
        if (chunk.length === 0 || socket.destroyed) return true;
        if (!chunked) return socket.write(chunk);
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        return socket.write("\r\n");
      },
      drain(resume) {
        const socket = conn.socket;
        // Also when the exchange ended meanwhile (an early answer, a failure): the client must not stay paused.
        if (socket.destroyed) return resume();
        let called = false;
        const once = (): void => {
          if (called) return;
          called = true;
          socket.off("drain", once);
          socket.off("close", once);
          resume();
        };
        socket.once("drain", once);
        socket.once("close", once);
      },
      end() {
        x.requestSent = true;
        if (chunked && !conn.socket.destroyed) conn.socket.write("0\r\n\r\n");
      },
      abort() {
        if (x.done) return;
        x.done = true;
        conn.exchange = null;
        conn.socket.destroy();
      },
    };
  }

  private release(conn: Connection): void {
    conn.exchange = null;
    const list = this.idle.get(conn.key) ?? [];
    if (this.closed || list.length >= this.options.maxIdlePerServer) return void conn.socket.destroy();
    list.push(conn);
    this.idle.set(conn.key, list);
  }

  private forget(conn: Connection): void {
    const list = this.idle.get(conn.key);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.idle.delete(conn.key);
  }

  private finish(conn: Connection, x: Exchange): void {
    x.done = true;
    // A connection paused for a slow client, or one with bytes beyond this response, is not clean enough to reuse.
    const p = conn.parser;
    const clean = x.keepAlive && x.requestSent && !conn.socket.destroyed && !conn.socket.isPaused() && p.offset >= p.end;
    if (clean) this.release(conn);
    else {
      conn.exchange = null;
      this.forget(conn);
      conn.socket.destroy();
    }
    x.sink.end();
  }

  private failed(conn: Connection, err: Error): void {
    const x = conn.exchange;
    conn.exchange = null;
    this.forget(conn);
    conn.socket.destroy();
    if (x === null || x.done) return;
    if (!x.started && x.retry !== null) {
      const retry = x.retry;
      x.retry = null;
      return retry();
    }
    x.done = true;
    x.sink.fail(err, x.started);
  }

  private connect(host: string, port: number, key: string): Connection {
    const socket = net.connect({ host, port, noDelay: true, keepAlive: true });
    const parser = strictParser(HTTPParser.RESPONSE);
    const conn: Connection = { socket, parser, key, exchange: null };
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const x = conn.exchange as Exchange;
      // 1xx answers (the client's own 100-continue is answered by the gateway) are not passed on.
      if (info.statusCode < 200) {
        x.interim = true;
        return 1;
      }
      if (!validFieldValue(info.statusMessage)) throw new Error("invalid reason phrase");
      const headers: string[] = [];
      let length: number | null = null;
      let chunked = false;
      for (let i = 0; i < info.headers.length; i += 2) {
        const name = info.headers[i] as string;
        const value = info.headers[i + 1] as string;
        if (!validFieldValue(value)) throw new Error(`invalid value of header ${name}`);
        const lower = name.toLowerCase();
        if (lower === "content-length") {
          if (!validLength(value)) throw new Error(`invalid content-length ${JSON.stringify(value)}`);
          length = Number(value);
        } else if (lower === "transfer-encoding") chunked = true;
        else if (!HOP_BY_HOP.has(lower)) headers.push(name, value);
      }
      // The parser reads a body that is both chunked and sized as chunked: so must the client.
      if (chunked) length = null;
      x.keepAlive = info.shouldKeepAlive;
      const bodyless = x.head || info.statusCode === 204 || info.statusCode === 304;
      x.started = true;
      x.sink.head(info.statusCode, info.statusMessage, headers, length, bodyless);
      return bodyless ? 1 : 0;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, len) => {
      const x = conn.exchange as Exchange;
      if (!x.sink.data(chunk.subarray(offset, offset + len)) && !socket.isPaused()) {
        socket.pause();
        x.sink.drain(() => socket.resume());
      }
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      const x = conn.exchange as Exchange;
      if (x.interim) {
        x.interim = false;
        return;
      }
      this.finish(conn, x);
      throw STOP;
    };
    socket.on("data", (chunk: Buffer) => {
      if (conn.exchange === null) return this.failed(conn, new Error("the web server sent bytes outside of any exchange"));
      let r: number | Error;
      try {
        r = parser.execute(chunk);
      } catch (err) {
        if (err !== STOP) this.failed(conn, err as Error);
        return;
      }
      if (r instanceof Error) this.failed(conn, r);
    });
    // A close-delimited body (no length, not chunked) ends when the server closes.
    socket.on("end", () => {
      if (conn.exchange !== null && conn.exchange.started) {
        try {
          const r = parser.finish();
          if (r instanceof Error) return this.failed(conn, r);
        } catch (err) {
          if (err !== STOP) return this.failed(conn, err as Error);
        }
      }
      this.failed(conn, new Error("the web server closed the connection"));
    });
    socket.on("error", (err) => this.failed(conn, err));
    socket.on("close", () => this.failed(conn, new Error("the web server closed the connection")));
    // Idle ones only: an exchange in progress (a long poll, an event stream) is never timed out here.
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      if (conn.exchange !== null) return;
      this.forget(conn);
      socket.destroy();
    });
    return conn;
  }
}
