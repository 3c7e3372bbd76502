/**
 * What a fuzz case's outcome must look like. A case fails on: no answer within its deadline (a hang);
 * a 5xx; an error answer outside the documented shape `{"error": {"code", "message"}}`; a protected
 * target answered 2xx/3xx without a valid token; the agent's token anywhere in an answer; and no
 * answer at all where the case does not allow a silent close.
 *
 * One kind of answer outside the JSON shape is accepted, on the HAProxy data plane only: HAProxy 2.6's
 * built-in pages for requests it refuses while parsing them (400 unparseable, 408 head too slow, 422
 * an unusable Transfer-Encoding, 501), sent before any rule or error file applies; custom pages for
 * those need HAProxy 3.2.
 *
 * And one silent close: on the HAProxy data plane a client that half-closes its connection has gone
 * away (`option abortonclose`, so that a caller leaving cancels its synchronous call), so its request
 * may be aborted before or while the answer is sent: in batches of 50 half-closed upgrades, 3 % got no
 * answer and, in one CI run, one got an answer cut after its headers. The agent's own listener answers
 * half-closed clients in full.
 */
import type { Case } from "./cases";
import type { Outcome, Response } from "./wire";

export const HAPROXY_BAD_REQUEST = "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

export interface Verdict {
  ok: boolean;
  why: string;
  /** Counted in the report: which shape each answer had. */
  kinds: string[];
}

function shapeOf(r: Response, plane: string): string | null {
  if (r.status < 400) return null;
  if (plane === "haproxy" && [400, 408, 422, 501].includes(r.status) && r.body.startsWith(`<html><body><h1>${r.status} `)) return `haproxy-builtin-${r.status}`;
  try {
    const v = JSON.parse(r.body) as {
      error?: { code?: unknown; message?: unknown };
    };
    if (typeof v.error?.code === "string" && typeof v.error.message === "string" && v.error.code.startsWith("WP_ERR_")) return null;
  } catch {
    // not JSON
  }
  return `not the error shape: ${r.status} ${JSON.stringify(r.body.slice(0, 120))}`;
}

export function judge(c: Case, o: Outcome, plane: string, token: string): Verdict {
  const kinds: string[] = [];
  if (o.hung)
    return {
      ok: false,
      why: `no answer or close within ${c.exchange.deadlineMs} ms`,
      kinds: ["hang"],
    };
  for (const r of o.responses) {
    kinds.push(String(r.status));
    if (r.status >= 500)
      return {
        ok: false,
        why: `answered ${r.status}: ${r.body.slice(0, 200)}`,
        kinds,
      };
    // The web server's own answers (Python's refusals of what the gateway passed on) are the app's business.
    const bad = r.headers["x-served-by"] === "recorder" ? null : shapeOf(r, plane);
    if (bad?.startsWith("haproxy-builtin-")) kinds.push(bad);
    else if (bad !== null) return { ok: false, why: bad, kinds };
    if (c.protected && !c.authorized && r.status < 400 && r.status !== 101)
      return {
        ok: false,
        why: `protected target answered ${r.status} without a valid token`,
        kinds,
      };
    if (r.body.includes(token) || Object.values(r.headers).some((v) => v.includes(token))) return { ok: false, why: "the agent's token is in the answer", kinds };
  }
  const mayClose = c.mayClose || (plane === "haproxy" && c.exchange.then === "half-close");
  if (o.responses.length === 0 && !mayClose) {
    return {
      ok: false,
      why: `closed with no answer${o.trailing === "" ? "" : ` (got ${JSON.stringify(o.trailing.slice(0, 120))})`}${o.error === null ? "" : ` (${o.error})`}`,
      kinds: ["closed"],
    };
  }
  if (o.responses.length === 0) kinds.push("closed");
  return { ok: true, why: "", kinds };
}
