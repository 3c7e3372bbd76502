/**
 * One fuzz case on the wire: a fresh TCP connection to the gateway, the case's bytes written in its
 * steps (with pauses, or a reset), and every byte the gateway sends back until it closes, the case's
 * deadline passes, or the answers the case waits for are complete. Answers are split into HTTP/1.1
 * responses by their own framing (Content-Length, chunked, or to the close).
 */
import * as net from "node:net";

export interface Step {
  bytes: Buffer;
  /** Pause before writing these bytes. */
  delayMs?: number;
}

export interface Exchange {
  steps: Step[];
  /** After writing: "reset" sends an RST at once; "half-close" ends the writing side; default keeps it open. */
  then?: "reset" | "half-close";
  /** Responses after which the connection is closed by us (when the gateway does not close it first). */
  answers: number;
  /** Longest the whole exchange may take before it counts as a hang. */
  deadlineMs: number;
}

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Outcome {
  responses: Response[];
  /** Bytes after the last complete response (a truncated or unparseable answer). */
  trailing: string;
  closedByServer: boolean;
  hung: boolean;
  error: string | null;
  ms: number;
}

export function exchange(host: string, port: number, x: Exchange): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket = net.connect({ host, port });
    let raw = Buffer.alloc(0);
    let done = false;
    let closedByServer = false;
    let error: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    const finish = (hung: boolean): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      const parsed = parseResponses(raw.toString("latin1"));
      resolve({
        responses: parsed.responses,
        trailing: parsed.rest,
        closedByServer,
        hung,
        error,
        ms: Date.now() - t0,
      });
    };
    timers.push(setTimeout(() => finish(true), x.deadlineMs));
    socket.on("data", (d: Buffer) => {
      raw = Buffer.concat([raw, d]);
      if (x.answers > 0 && parseResponses(raw.toString("latin1")).responses.length >= x.answers) finish(false);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on("end", () => {
      closedByServer = true;
    });
    socket.on("close", () => {
      closedByServer = true;
      finish(false);
    });
    socket.on("connect", () => {
      let at = 0;
      const write = (i: number): void => {
        if (done || socket.destroyed) return;
        if (i >= x.steps.length) {
          if (x.then === "reset") {
            socket.resetAndDestroy();
            finish(false);
          } else if (x.then === "half-close") socket.end();
          else if (x.answers === 0) finish(false);
          return;
        }
        const step = x.steps[i] as Step;
        socket.write(step.bytes);
        const next = x.steps[i + 1];
        if (next?.delayMs !== undefined && next.delayMs > 0) timers.push(setTimeout(() => write(i + 1), next.delayMs));
        else write(i + 1);
      };
      at = x.steps[0]?.delayMs ?? 0;
      if (at > 0) timers.push(setTimeout(() => write(0), at));
      else write(0);
    });
  });
}

/** Splits raw bytes into complete responses; what cannot be read as one is left in `rest`. */
export function parseResponses(text: string): {
  responses: Response[];
  rest: string;
} {
  const responses: Response[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) break;
    const lines = rest.slice(0, end).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (m === null) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const c = line.indexOf(":");
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    let bodyEnd: number;
    const after = end + 4;
    if (status < 200 && status !== 101) {
      // An interim answer (100 Continue): no body.
      bodyEnd = after;
      rest = rest.slice(bodyEnd);
      continue;
    }
    if (headers["content-length"] !== undefined) {
      bodyEnd = after + Number(headers["content-length"]);
      if (bodyEnd > rest.length) break;
    } else if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) {
      const chunked = dechunk(rest, after);
      if (chunked === null) break;
      responses.push({ status, headers, body: chunked.body });
      rest = rest.slice(chunked.end);
      continue;
    } else if (status === 101 || status === 204 || status === 304) bodyEnd = after;
    else bodyEnd = rest.length; // to the close
    responses.push({ status, headers, body: rest.slice(after, bodyEnd) });
    rest = rest.slice(bodyEnd);
    if (status === 101) break;
  }
  return { responses, rest };
}

/** A chunked body from `at`: its bytes and where it ends, or null while incomplete. */
function dechunk(text: string, at: number): { body: string; end: number } | null {
  let body = "";
  let i = at;
  for (;;) {
    const eol = text.indexOf("\r\n", i);
    if (eol < 0) return null;
    const size = parseInt(text.slice(i, eol), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) {
      const end = text.indexOf("\r\n\r\n", eol);
      return end < 0 ? null : { body, end: end + 4 };
    }
    if (eol + 2 + size + 2 > text.length) return null;
    body += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/**
 * `n` connections opened at once and held until every one has settled, so the server sees them all at
 * the same time: each settles with `classify` of its first answer, with `silence` when none came within
 * `quietMs` (held, or hung, as the caller counts it), or with its error or close.
 */
export async function holdConnections(host: string, port: number, n: number, o: { request?: string; quietMs: number; silence: string; classify: (r: Response) => string }): Promise<string[]> {
  const sockets: net.Socket[] = [];
  const answers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<string>((resolve) => {
          const socket = net.connect({ host, port }, () => o.request !== undefined && socket.write(o.request));
          sockets.push(socket);
          let text = "";
          const timer = setTimeout(() => resolve(o.silence), o.quietMs);
          socket.on("data", (d: Buffer) => {
            text += d.toString("latin1");
            const r = parseResponses(text).responses[0];
            if (r === undefined) return;
            clearTimeout(timer);
            resolve(o.classify(r));
          });
          socket.on("error", (e: NodeJS.ErrnoException) => {
            clearTimeout(timer);
            resolve(`error ${e.code ?? e.message}`);
          });
          socket.on("close", () => {
            clearTimeout(timer);
            resolve(text === "" ? "closed unanswered" : `unparsed ${JSON.stringify(text.slice(0, 80))}`);
          });
        }),
    ),
  );
  for (const s of sockets) s.destroy();
  return answers;
}

/** `each` over `items`, at most `concurrency` at a time. */
export async function inPool<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await each(items[next++] as T);
    }),
  );
}
