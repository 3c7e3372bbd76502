/**
 * One normal form for request paths, applied before any routing: what the router matches, what the
 * token rule is checked against, and what a web server behind an endpoint receives are the same path.
 * Without it `//private/x`, `/a/../private`, `%70rivate` or `private%2fx` reach a server that cleans
 * paths itself (Python's http.server, uvicorn) as `/private/x`, past an endpoint's token.
 *
 * The normal form (RFC 3986 §6.2.2):
 * 1. percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) decoded, other escapes upper-cased;
 * 2. runs of `/` merged into one;
 * 3. dot segments removed (§5.2.4), also `..` above the root and ones that were encoded (`%2e%2e`).
 * Refused with 400: an escape that is not `%` and two hex digits; an encoded `/`, `\` or NUL (servers
 * disagree on whether `%2F` separates segments, so no answer is safe); a target that is not a path
 * (absolute-form, `*`).
 *
 * The HAProxy data plane serves a request itself only when its path is `FAST_PATH` (no escapes, no
 * dot segments, no empty segments), which `normalizePath` leaves unchanged (test/target.test.ts checks
 * it over generated paths); any other request goes to the agent, which normalises it here.
 */

export type Normalized = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Paths HAProxy may forward as they are: already in normal form. A PCRE, written single-quoted into
 * haproxy.cfg (hence no `'` in it: a path with one goes to the agent). No `;` either: path parameters
 * change which endpoint a path is for (routes/routing.ts), which the agent decides.
 */
export const FAST_PATH = "^(?=/)(?:/(?!\\.\\.?(?:/|$))[-A-Za-z0-9._~!$&()*+,=:@]+)*/?$";

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX = /^[0-9A-Fa-f]{2}$/;
/** Escapes of characters that would change how the path splits, or end it early in C servers. */
const FORBIDDEN = new Set(["2F", "5C", "00"]);

/** The normal form of a path (no query), or why it has none. */
export function normalizePath(raw: string): Normalized {
  if (raw.charCodeAt(0) !== 47 /* / */) return { ok: false, reason: "the request target must be a path starting with '/' (absolute-form and '*' are not accepted)" };
  if (raw.includes("\\")) return { ok: false, reason: "the path contains a backslash" };
  let decoded = raw;
  if (raw.includes("%")) {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i] as string;
      if (ch !== "%") {
        out += ch;
        continue;
      }
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return { ok: false, reason: `invalid percent-encoding ${JSON.stringify(raw.slice(i, i + 3))} in the path` };
      const upper = hex.toUpperCase();
      if (FORBIDDEN.has(upper)) return { ok: false, reason: `the path contains an encoded ${upper === "2F" ? "slash" : upper === "5C" ? "backslash" : "NUL"} (%${upper}), which is not accepted` };
      const c = String.fromCharCode(parseInt(hex, 16));
      out += UNRESERVED.test(c) ? c : `%${upper}`;
      i += 2;
    }
    decoded = out;
  }
  const segments = decoded.split("/");
  const stack: string[] = [];
  // segments[0] is "" (the leading slash); an empty segment elsewhere is a doubled slash, merged away,
  // except the last, which keeps a trailing slash.
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === "..") {
      stack.pop();
      if (last) stack.push("");
    } else if (s === ".") {
      if (last) stack.push("");
    } else if (s === "") {
      if (last) stack.push("");
    } else stack.push(s);
  }
  return { ok: true, path: `/${stack.join("/")}` };
}

/** Splits a request target into its normalised path and its query (with `?`, or ""), or why it cannot. */
export function normalizeTarget(url: string): { ok: true; path: string; query: string } | { ok: false; reason: string } {
  const q = url.indexOf("?");
  const n = normalizePath(q < 0 ? url : url.slice(0, q));
  if (!n.ok) return n;
  return { ok: true, path: n.path, query: q < 0 ? "" : url.slice(q) };
}
