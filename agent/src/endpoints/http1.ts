/**
 * http-parser-js made as strict as node:http's llhttp where the proxy depends on it. The library is
 * lenient: it skips header lines it cannot read, takes any `parseInt` of a chunk-size line, and
 * decodes bytes as ASCII (which clears the high bit, so 0x8D 0x8A would become CR LF inside a value).
 * Anything it would read differently from node:http must not be proxied, or the two paths (and the
 * web server behind them) could disagree on where a request ends.
 */
import { HTTPParser } from "http-parser-js";

// Bytes ≥ 0x80 stay themselves (obs-text), never CR/LF. Process-wide: the proxy is the library's only user.
HTTPParser.encoding = "latin1";

/** A header line node:http would accept: a token, then the colon. */
const HEADER_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/;
/** A chunk-size line: hex digits, then optional extensions. */
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,15}(;.*)?$/;
/** A request target: visible ASCII only. */
const TARGET = /^[\x21-\x7e]+$/;
/** A header value or reason phrase: HTAB, visible ASCII, obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A Content-Length: digits only (no sign, no exponent, no hex). */
const DIGITS = /^\d{1,15}$/;

export type Parser = InstanceType<typeof HTTPParser> & {
  /** The library's cursor within the chunk being executed (not in its typings). */
  chunk: Buffer;
  offset: number;
  end: number;
};

/** The library's chunk-size state and its private helpers, replaced below. */
interface ChunkState {
  body_bytes: number | null;
  state: string;
  consumeLine(): string | undefined;
}

export function strictParser(type: "REQUEST" | "RESPONSE"): Parser {
  const parser = new HTTPParser(type) as Parser;
  const parseHeader = parser.parseHeader;
  parser.parseHeader = function strictHeader(line, headers) {
    if (!HEADER_LINE.test(line)) throw new Error(`invalid header line ${JSON.stringify(line.slice(0, 40))}`);
    parseHeader.call(this, line, headers);
  };
  (parser as unknown as { BODY_CHUNKHEAD(): void }).BODY_CHUNKHEAD = function strictChunkHead(this: ChunkState): void {
    const line = this.consumeLine();
    if (line === undefined) return;
    if (!CHUNK_SIZE.test(line)) throw new Error(`invalid chunk size ${JSON.stringify(line.slice(0, 20))}`);
    this.body_bytes = parseInt(line, 16);
    this.state = this.body_bytes === 0 ? "BODY_CHUNKTRAILERS" : "BODY_CHUNK";
  };
  return parser;
}

export const validTarget = (url: string): boolean => TARGET.test(url);
export const validFieldValue = (value: string): boolean => FIELD_VALUE.test(value);
export const validLength = (value: string): boolean => DIGITS.test(value);
