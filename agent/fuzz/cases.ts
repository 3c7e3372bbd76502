/**
 * The fuzz cases: requests an attacker on loopback would send, generated from a seed with fast-check
 * so that a failing run can be replayed (`--seed`). Each case carries what the oracle needs to judge
 * its answer: whether it asks for something only the token may have (`protected`), whether it holds a
 * valid token (`authorized`), and which answers besides a complete response are acceptable.
 *
 * Categories (share of a run):
 * - malformed (35 %): request lines, header lines and bytes node:http or HAProxy must refuse: bare LF,
 *   obs-fold, NUL and high bytes, 17 kB headers, bad versions and methods, TLS and HTTP/2 prefaces.
 * - smuggling (15 %): CL.TE, TE.CL, TE.TE with obfuscated Transfer-Encoding, duplicate lengths, each
 *   hiding a second request for `/private/SMUGGLED` in what should be a body.
 * - paths (20 %): encodings of the private endpoint's path (`//`, dot segments, `%70`, `%2f`, ...).
 * - tokens (10 %): the token in every wrong place and shape, and duplicated Authorization headers.
 * - upgrades (12 %): WebSocket upgrades on every kind of route, reset or half-closed at once.
 * - api (8 %): API routes (calls, stored payloads, Dicts and Queues, apps, containers, logs) with random
 *   JSON and YAML bodies, deep nesting, alias bombs, wrong types and sizes, oversized batches and values,
 *   hostile keys and partitions, and bad queries of the logs route.
 * Slow heads, slow bodies and connection floods are timed scenarios of their own (run.ts).
 */
import * as fc from "fast-check";
import type { Exchange } from "./wire";

export interface Case {
  category: "malformed" | "smuggling" | "paths" | "tokens" | "upgrades" | "api";
  name: string;
  exchange: Exchange;
  /** The target is protected: without `authorized` it must never be answered 2xx/3xx. */
  protected: boolean;
  authorized: boolean;
  /** A closed connection without an answer is acceptable (resets, bodies broken mid-way). */
  mayClose: boolean;
}

export interface Routes {
  token: string;
  app: string;
}

const CRLF = "\r\n";
const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Where requests go: paths on each kind of route, and whether each needs the token. */
function targets(r: Routes): Array<{ path: string; protected: boolean }> {
  return [
    { path: `/web/${r.app}/`, protected: false },
    { path: `/web/${r.app}/hello?x=1`, protected: false },
    { path: `/web/${r.app}/private/x`, protected: true },
    { path: `/web/${r.app}/fn/x`, protected: false },
    { path: `/web/${r.app}/pfn/x`, protected: true },
    { path: "/v1/apps", protected: true },
    { path: `/v1/apps/${r.app}/functions/echo/call`, protected: true },
    { path: "/v1/dicts/fz/get", protected: true },
    { path: "/v1/queues/fz", protected: true },
    { path: "/v1/payloads", protected: true },
    { path: "/v1/containers/nope/exec", protected: true },
    { path: "/healthz", protected: false },
    { path: "/dashboard", protected: false },
    { path: "/dashboard/uPlot.min.js", protected: false },
    { path: "/v1/dashboard", protected: true },
    { path: "/web/nope/x", protected: false },
    { path: "/nope", protected: false },
  ];
}

function request(method: string, path: string, headers: string[], body = "", version = "HTTP/1.1", eol = CRLF): string {
  return `${method} ${path} ${version}${eol}${headers.map((h) => h + eol).join("")}${eol}${body}`;
}

const anon = "x-fuzz-anon: 1";

function malformed(r: Routes): fc.Arbitrary<Case> {
  const target = fc.constantFrom(...targets(r));
  const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH", "PROPFIND", "G ET", "get", "GET\t", "", "PRI", "\x00GET", "GËT");
  const version = fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "http/1.1", "HTTP/1.1 ", "", "HTTP/1");
  const badHeader = fc.constantFrom(
    "no-colon-here",
    " leading: space",
    "space : before-colon",
    "x: bad\x00nul",
    "x: high\xff\xfebytes",
    "\tfolded: continuation",
    "x-long: " + "a".repeat(17_000),
    "Expect: 200-ok",
    "Expect: 100-continue",
    "Host: second.example",
    "Transfer_Encoding: chunked",
    "Content-Length: -1",
    "Content-Length: 1e3",
    "Content-Length: 0x10",
    "Content-Length: 99999999999999999999",
    ": empty-name",
    "x: a\rb",
  );
  const eol = fc.constantFrom(CRLF, CRLF, "\n", "\r");
  const lineCase = fc
    .record({
      t: target,
      m: method,
      v: version,
      h: fc.array(badHeader, { maxLength: 3 }),
      eol,
      body: fc.constantFrom("", "abc", "0\r\n\r\n"),
    })
    .map(({ t, m, v, h, eol: e, body }): Case => ({
      category: "malformed",
      name: `${JSON.stringify(m)} ${t.path} ${JSON.stringify(v)} +${h.length} bad header(s), eol ${JSON.stringify(e)}`,
      exchange: {
        steps: [{ bytes: b(request(m, t.path, ["Host: x", anon, ...h], body, v, e)) }],
        answers: 1,
        deadlineMs: 15_000,
      },
      protected: t.protected,
      authorized: false,
      mayClose: false,
    }));
  const blobs = fc.constantFrom(
    ["TLS client hello", Buffer.from("16030100a5010000a103035f", "hex")],
    ["HTTP/2 preface", b("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")],
    ["bare CRLFs then a request", b(`\r\n\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`)],
    ["absolute-form", b(`GET http://evil.test/web/${r.app}/private/x HTTP/1.1\r\nHost: x\r\n${anon}\r\n\r\n`)],
    ["OPTIONS *", b("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")],
    ["no Host", b(`GET /web/${r.app}/ HTTP/1.1\r\n${anon}\r\n\r\n`)],
    ["HTTP/1.0 no Host", b(`GET /web/${r.app}/ HTTP/1.0\r\n${anon}\r\n\r\n`)],
    ["200 headers", b(`GET /web/${r.app}/ HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 200 }, (_, i) => `x-h${i}: ${i}\r\n`).join("")}\r\n`)],
    ["target with spaces", b(`GET /web/${r.app}/a b HTTP/1.1\r\nHost: x\r\n\r\n`)],
    ["10 kB target", b(`GET /web/${r.app}/${"a".repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)],
  );
  const random = fc.uint8Array({ minLength: 1, maxLength: 300 });
  return fc.oneof(
    { weight: 6, arbitrary: lineCase },
    {
      weight: 2,
      arbitrary: blobs.map(([name, bytes]): Case => ({
        category: "malformed",
        name: name as string,
        exchange: {
          steps: [{ bytes: bytes as Buffer }],
          answers: 1,
          deadlineMs: 15_000,
        },
        protected: false,
        authorized: false,
        mayClose: false,
      })),
    },
    {
      weight: 2,
      arbitrary: random.map((bytes): Case => ({
        category: "malformed",
        name: `random bytes ${Buffer.from(bytes).toString("hex").slice(0, 40)}`,
        exchange: {
          steps: [{ bytes: Buffer.from(bytes) }],
          answers: 1,
          deadlineMs: 15_000,
        },
        protected: false,
        authorized: false,
        // Bytes that stop before a request line ends get nothing (node:http and HAProxy wait for more, then the client is gone).
        mayClose: true,
      })),
    },
  );
}

function smuggling(r: Routes): fc.Arbitrary<Case> {
  const hidden = `GET /web/${r.app}/private/SMUGGLED HTTP/1.1\r\nHost: x\r\n${anon}\r\n\r\n`;
  const te = fc.constantFrom("chunked", " chunked", "chunked ", "\tchunked", "xchunked", "chunked, identity", "identity, chunked", "CHUNKED", "chunk", "chunked\r\nTransfer-Encoding: identity");
  const target = fc.constantFrom(`/web/${r.app}/`, `/web/${r.app}/fn/x`, "/v1/apps", `/web/${r.app}/private/x`);
  const shape = fc.constantFrom("CL.TE", "TE.CL", "TE.TE", "CL.CL", "TE-only", "CL0-body");
  return fc.record({ shape, te, target }).map(({ shape, te: enc, target: t }): Case => {
    let bytes: string;
    const head = `POST ${t} HTTP/1.1\r\nHost: x\r\n${anon}\r\n`;
    switch (shape) {
      case "CL.TE":
        bytes = `${head}Content-Length: ${4 + hidden.length}\r\nTransfer-Encoding: ${enc}\r\n\r\n0\r\n\r\n${hidden}`;
        break;
      case "TE.CL":
        bytes = `${head}Transfer-Encoding: ${enc}\r\nContent-Length: 4\r\n\r\n${(hidden.length + 2).toString(16)}\r\nXX${hidden}\r\n0\r\n\r\n`;
        break;
      case "TE.TE":
        bytes = `${head}Transfer-Encoding: chunked\r\nTransfer-Encoding: ${enc}\r\n\r\n0\r\n\r\n${hidden}`;
        break;
      case "CL.CL":
        bytes = `${head}Content-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`;
        break;
      case "TE-only":
        bytes = `${head}Transfer-Encoding: ${enc}\r\n\r\n${hidden}`;
        break;
      default:
        bytes = `${head}Content-Length: 0\r\n\r\n${hidden}`;
    }
    return {
      category: "smuggling",
      name: `${shape} ${JSON.stringify(enc)} → ${t}`,
      exchange: {
        steps: [{ bytes: b(bytes) }],
        answers: 2,
        deadlineMs: 15_000,
      },
      protected: t.includes("private") || t.startsWith("/v1"),
      authorized: false,
      // A body that does not frame as the head says may end the connection.
      mayClose: true,
    };
  });
}

function paths(r: Routes): fc.Arbitrary<Case> {
  const prefix = fc.constantFrom(`/web/${r.app}`, `/web/${r.app}/`, `/web//${r.app}`, `/web/${r.app}/x/..`, `/web/${r.app}/.`, `/web/%66z`, `/web/${r.app}/%2e`, `/x/../web/${r.app}`);
  const privateName = fc.constantFrom(
    "private",
    "%70rivate",
    "%70%72%69%76%61%74%65",
    "PRIVATE",
    "priv%61te",
    "./private",
    "a/../private",
    "/private",
    "private%2f",
    "private%2Fx",
    "private;x",
    "private%00",
    "private%5c",
    ".%2e/private",
    "%2e%2e/private",
    "private/",
    "private/..",
    "private/../private",
  );
  const tail = fc.constantFrom("", "/x", "//x", "/x?y=1", "/../x", "/%2e%2e", "/x%2fy", "/__seen");
  const method = fc.constantFrom("GET", "POST", "PUT", "OPTIONS");
  return fc.record({ prefix, privateName, tail, method }).map(({ prefix: p, privateName: n, tail: t, method: m }): Case => {
    const path = `${p}/${n}${t}`.replace(/^\/+/, "/");
    return {
      category: "paths",
      name: `${m} ${path}`,
      exchange: {
        steps: [
          {
            bytes: b(request(m, path, ["Host: x", anon, "Content-Length: 0"])),
          },
        ],
        answers: 1,
        deadlineMs: 15_000,
      },
      protected: underPrivate(path, r.app),
      authorized: false,
      mayClose: false,
    };
  });
}

/**
 * Whether a path means the private endpoint to a server that cleans paths itself, judged apart from
 * the gateway's own normalisation, in the two ways servers do it: the WHATWG URL parser (dot segments
 * first, `%2e` taken for `.`, empty segments kept), and Python's posixpath.normpath (slashes merged
 * first), both after every escape is decoded. A path is protected when both say private; where they
 * disagree (`private//../x`) the gateway's answer may go either way. Which requests really reached the
 * private endpoint is the web server's record to say (run.ts); this only tells the oracle which
 * answers must not be 2xx.
 */
export function underPrivate(path: string, app: string): boolean {
  const priv = (p: string): boolean => p === `/web/${app}/private` || p.startsWith(`/web/${app}/private/`);
  let whatwg: string;
  let merged: string;
  try {
    const decoded = decodeURIComponent(new URL(path, "http://x").pathname);
    whatwg = new URL(decoded, "http://x").pathname;
    merged = new URL(decodeURIComponent(path.split("?")[0] as string).replace(/\/{2,}/g, "/"), "http://x").pathname;
  } catch {
    return true;
  }
  return priv(whatwg) && priv(merged);
}

function tokens(r: Routes): fc.Arbitrary<Case> {
  const t = r.token;
  const placements: Array<[string, string[], boolean]> = [
    ["exact", [`Authorization: Bearer ${t}`], true],
    ["lower-case scheme", [`Authorization: bearer ${t}`], false],
    ["two spaces", [`Authorization: Bearer  ${t}`], false],
    ["tab", [`Authorization: Bearer\t${t}`], false],
    ["trailing junk", [`Authorization: Bearer ${t}x`], false],
    ["prefix only", [`Authorization: Bearer ${t.slice(0, -1)}`], false],
    ["basic", [`Authorization: Basic ${Buffer.from(`${t}:`).toString("base64")}`], false],
    ["bare token", [`Authorization: ${t}`], false],
    ["other header", [`X-Authorization: Bearer ${t}`], false],
    ["cookie", [`Cookie: token=${t}`], false],
    ["proxy-authorization", [`Proxy-Authorization: Bearer ${t}`], false],
    ["empty bearer", ["Authorization: Bearer "], false],
    ["wrong then right", ["Authorization: Bearer wrong", `Authorization: Bearer ${t}`], false],
    ["empty then right", ["Authorization:", `Authorization: Bearer ${t}`], false],
    ["folded", ["Authorization: Bearer", ` ${t}`], false],
    ["unicode look-alike", [`Authorization: Bеarer ${t}`], false],
  ];
  const placement = fc.constantFrom(...placements);
  const target = fc.constantFrom(...targets(r).filter((x) => x.protected));
  const inQuery = fc.boolean();
  return fc.record({ placement, target, inQuery }).map(({ placement: [name, headers, valid], target: tg, inQuery: q }): Case => {
    const path = q && !valid ? `${tg.path}${tg.path.includes("?") ? "&" : "?"}token=${t}` : tg.path;
    const method = tg.path.endsWith("/call") ? "POST" : "GET";
    const hs = ["Host: x", ...headers, ...(valid ? [] : [anon]), "Content-Length: 2"];
    return {
      category: "tokens",
      name: `${name}${q && !valid ? " + token in query" : ""} → ${method} ${tg.path}`,
      exchange: {
        steps: [{ bytes: b(request(method, path, hs, "{}")) }],
        answers: 1,
        deadlineMs: 15_000,
      },
      protected: true,
      authorized: valid,
      mayClose: false,
    };
  });
}

function upgrades(r: Routes): fc.Arbitrary<Case> {
  const target = fc.constantFrom(...targets(r), { path: `/web/${r.app}/ws`, protected: false }, { path: `/web/${r.app}/private/ws`, protected: true });
  const ending = fc.constantFrom("reset" as const, "half-close" as const, "partial-reset" as const);
  const withToken = fc.boolean();
  return fc.record({ target, ending, withToken }).map(({ target: tg, ending: e, withToken: tok }): Case => {
    const headers = [
      "Host: x",
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      ...(tok ? [`Authorization: Bearer ${r.token}`] : [anon]),
    ];
    const full = b(request("GET", tg.path, headers));
    const steps = e === "partial-reset" ? [{ bytes: full.subarray(0, Math.floor(full.length / 2)) }] : [{ bytes: full }];
    return {
      category: "upgrades",
      name: `upgrade ${tg.path}${tok ? " (token)" : ""}, then ${e}`,
      exchange: {
        steps,
        then: e === "half-close" ? "half-close" : "reset",
        answers: e === "half-close" ? 1 : 0,
        deadlineMs: 15_000,
      },
      protected: tg.protected,
      authorized: tok,
      mayClose: e !== "half-close",
    };
  });
}

function api(r: Routes): fc.Arbitrary<Case> {
  const route = fc.constantFrom(
    `/v1/apps/${r.app}/functions/echo/call`,
    `/v1/apps/${r.app}/functions/echo/spawn`,
    `/v1/apps/${r.app}/functions/echo/map`,
    `/v1/apps/${r.app}`,
    "/v1/calls/fc-nope?wait=abc",
    `/web/${r.app}/fn/x`,
    "/v1/dicts/fz",
    "/v1/dicts/fz/get",
    "/v1/dicts/fz/put",
    "/v1/dicts/fz/pop",
    "/v1/dicts/fz/contains",
    "/v1/dicts/fz/items?after=%22%00&limit=1000&values=maybe",
    "/v1/dicts/fz?app=..",
    "/v1/dicts/nope/put",
    "/v1/queues/fz",
    "/v1/queues/fz/put",
    "/v1/queues/fz/get",
    "/v1/queues/fz?partition=%00",
    "/v1/queues/fz/items?after=-1&limit=1001&timeout=1e9",
    "/v1/queues/fz/items?partition=p&after=0&timeout=0",
    "/v1/payloads",
    "/v1/apps/fuzz-other",
    "/v1/containers",
    "/v1/containers/nope/exec",
    "/v1/containers/%00/exec",
    `/v1/apps/${r.app}/functions/echo/logs?since=5&tail=3`,
    `/v1/apps/${r.app}/functions/echo/logs?follow=maybe&since=-1&tail=0`,
    `/v1/apps/${r.app}/functions/echo/logs?since=1e400`,
  );
  const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);
  const body = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.constantFrom(
      deep(300),
      deep(5000),
      `{"args":${deep(1200)}}`,
      '{"args":[1],"kwargs":[]}',
      '{"args":"x"}',
      '{"__proto__":{"a":1}}',
      '{"constructor":{"prototype":{}}}',
      "{",
      "null",
      '{"args":[1],"extra":true}',
      '{"command":["sh","-c","exit 3"],"timeoutSeconds":"x"}',
      '{"command":[],"timeoutSeconds":1e400}',
      "\u0000",
      "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c]",
      "functions: !!js/function 'x'",
      "{a: 1, a: 2}",
      "--- {}\n--- {}",
      "__proto__: {polluted: true}\nfunctions: {}",
      "name: fuzz-other\nfunctions:\n  f: {handler: 'handlers:echo', autoscaler: {minContainers: 0}}",
      '{"args":[' + "1,".repeat(5000) + "1]}",
      '{"key":{"a":1}}',
      `{"key":${deep(900)}}`,
      `{"key":"k","items":[{"key":"k","value":${deep(200)}}],"ttl":1e308}`,
      '{"items":[{"key":[1,[2,[3]]],"value":"v"}],"ttl":0.001,"skipIfExists":"yes"}',
      '{"items":' + JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ key: i, value: i }))) + "}",
      '{"values":[1,2,3],"partition":"../../x"}',
      '{"values":[' + '"x",'.repeat(1000) + '"x"]}',
      '{"n":1e9,"timeout":-1}',
      '{"n":1,"timeout":0.05,"partition":"empty"}',
      '{"values":["' + "v".repeat(2_000_000) + '"]}',
      '{"payload":"pl-00000000000000000000000000000000"}',
      '{"payload":"../../etc/passwd"}',
      '{"payload":["pl-x"],"args":[]}',
    ),
  );
  const type = fc.constantFrom("application/json", "application/x-ndjson", "text/plain", "application/json; charset=utf-8", "", "application/jsonx", "application/yaml", "text/yaml");
  const method = fc.constantFrom("POST", "PUT", "GET", "DELETE", "PATCH");
  return fc.record({ route, body, type, method }).map(({ route: rt, body: bd, type: ty, method: m }): Case => {
    const bytes = Buffer.from(bd, "utf8");
    const headers = ["Host: x", `Authorization: Bearer ${r.token}`, ...(ty === "" ? [] : [`Content-Type: ${ty}`]), `Content-Length: ${bytes.length}`];
    return {
      category: "api",
      name: `${m} ${rt} ${ty} ${bd.slice(0, 40)}`,
      exchange: {
        steps: [{ bytes: Buffer.concat([b(request(m, rt, headers)), bytes]) }],
        answers: 1,
        deadlineMs: 30_000,
      },
      protected: true,
      authorized: true,
      mayClose: false,
    };
  });
}

/** `n` cases from `seed`, mixed by category as the header says. */
export function generate(r: Routes, n: number, seed: number): Case[] {
  const all = fc.oneof(
    { weight: 35, arbitrary: malformed(r) },
    { weight: 15, arbitrary: smuggling(r) },
    { weight: 20, arbitrary: paths(r) },
    { weight: 10, arbitrary: tokens(r) },
    { weight: 12, arbitrary: upgrades(r) },
    { weight: 8, arbitrary: api(r) },
  );
  return fc.sample(all, { numRuns: n, seed });
}
