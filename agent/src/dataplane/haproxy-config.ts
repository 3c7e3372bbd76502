/**
 * The HAProxy configuration of the data plane (haproxy.ts), rendered from the deployed apps' endpoints.
 *
 * HAProxy takes only requests it can answer exactly as the agent would: a webServer endpoint matched by
 * the agent's own route table (routes/table.ts: `/web/<app><path>` or an endpoint domain, longest prefix
 * at a segment boundary), with an allowed method, the agent's token unless the endpoint is public, one
 * Authorization and one X-Forwarded-For header, and at least one ready container. Everything else goes
 * to the agent's node:http listener, which answers it as before: the API, function endpoints, errors
 * (404/405/401/403 with their JSON bodies), and requests held while a function starts from zero.
 *
 * What the web server receives is what the agent's own proxy sends (endpoints/proxy.ts `forwardHeaders`): the
 * path without `/web/<app>`, the client's Host, `X-Forwarded-Host`/`-Proto` set by this hop, the
 * client's address appended to `X-Forwarded-For`, other `X-Forwarded-*` and the agent's token removed.
 * The token is compared as a SHA-256 digest, so the configuration file never holds it.
 */
import { createHash } from "node:crypto";
import { AgentError, errorBody } from "../errors";
import { PEER_HEADER } from "../routes/routing";
import { WEB_PREFIX, type RouteTable } from "../routes/table";
import { FAST_PATH } from "../routes/target";

export interface ConfigInput {
  /** The deployed endpoints: HAProxy routes by the agent's own table. */
  routes: RouteTable;
  /** Server slots of each webServer endpoint's backend (slotCounts). */
  slots: ReadonlyMap<string, number>;
  /** Where HAProxy listens: the gateway's public address. */
  bind: { host: string; port: number };
  /** The agent's own listener, for everything HAProxy does not serve itself. */
  agent: { host: string; port: number };
  token: string;
  /** The runtime API socket (admin level, mode 0600). */
  socket: string;
  /** Client connections beyond which new ones are answered 503 (the agent's own `maxConnections`). */
  maxConnections: number;
  /** Seconds a client has to send a request's head (and, for a request HAProxy serves, a body of up to one buffer, 16 KiB). */
  headersTimeout: number;
}

/** The backend of a webServer endpoint; its servers are the function's ready containers. */
export function backendName(app: string, endpoint: string): string {
  return `ep_${app}_${endpoint}`;
}

const SLOT_PREFIX = "c";

/** Server slot `i` (from 1) of a backend. */
export const slotName = (i: number): string => `${SLOT_PREFIX}${i}`;

/** The server slots of each webServer endpoint's backend: its function's maxContainers (1 while it is not deployed). */
export function slotCounts(routes: RouteTable, maxContainers: (app: string, fn: string) => number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const [app, list] of routes.apps()) for (const r of list) if (r.spec.kind === "webServer") out.set(backendName(app, r.name), Math.max(1, maxContainers(app, r.spec.function) ?? 1));
  return out;
}

/** Connections HAProxy accepts beyond the cap, only to answer them 503. */
const CONNECTION_MARGIN = 64;

const quote = (s: string): string => `"${s.replace(/["\\]/g, "\\$&")}"`;

/**
 * Every answer HAProxy itself can give (http-error takes these statuses), in the agent's JSON shape:
 * what a client gets is the same whichever process answered it.
 */
const HAPROXY_ERRORS: ReadonlyArray<[number, AgentError]> = [
  [400, new AgentError("WP_ERR_BAD_REQUEST", ["not a valid HTTP/1.1 request"])],
  [401, new AgentError("WP_ERR_UNAUTHORIZED")],
  [403, new AgentError("WP_ERR_FORBIDDEN")],
  [404, new AgentError("WP_ERR_ROUTE_NOT_FOUND", ["for this request"])],
  [405, new AgentError("WP_ERR_METHOD_NOT_ALLOWED", ["method not allowed"])],
  [407, new AgentError("WP_ERR_UNAUTHORIZED")],
  [408, new AgentError("WP_ERR_REQUEST_TIMEOUT", ["the request did not arrive in time"])],
  [410, new AgentError("WP_ERR_ROUTE_NOT_FOUND", ["for this request"])],
  [413, new AgentError("WP_ERR_PAYLOAD_TOO_LARGE", ["the gateway's"])],
  [425, new AgentError("WP_ERR_BAD_REQUEST", ["too early"])],
  [429, new AgentError("WP_ERR_OVERLOADED", ["too many requests; retry later"])],
  [500, new AgentError("WP_ERR_INTERNAL", ["the gateway failed"])],
  [501, new AgentError("WP_ERR_NOT_IMPLEMENTED", ["the gateway does not implement what this request asks for"])],
  [502, new AgentError("WP_ERR_UPSTREAM", ["the web server failed to answer"])],
  [503, new AgentError("WP_ERR_OVERLOADED", ["no server could take the request; retry later"])],
  [504, new AgentError("WP_ERR_UPSTREAM_TIMEOUT", ["the web server did not answer in time"])],
];

const jsonAnswer = (err: AgentError): string => `content-type application/json string ${quote(errorBody(err))}`;

/** Path conditions (HAProxy ACL alternatives) for a route's prefix (routes/table.ts: "" for `/`) under `base`, at a segment boundary. */
function prefixConditions(base: string, prefix: string): string[] {
  const whole = `${base}${prefix}`;
  return whole === "" ? ["TRUE"] : [`{ path ${whole} }`, `{ path_beg ${whole}/ }`];
}

export function renderConfig(input: ConfigInput): string {
  const tokenDigest = createHash("sha256").update(`Bearer ${input.token}`).digest("hex").toUpperCase();
  // Every domain takes its requests off the gateway paths (as gatewayUrl does); HAProxy serves a
  // domain itself only when one app has it (the agent picks the first deployed among several).
  const owners = new Map(input.routes.domains());
  const allDomains = [...owners.keys()].sort();
  const domains = allDomains.filter((d) => owners.get(d)?.length === 1);
  // The Host without a trailing `:<digits>`, lowercased: routes/routing.ts `hostOf`.
  const hostIs = (list: readonly string[]): string => `{ hdr(host),lower,regsub(:[0-9]+$,) -m str ${list.join(" ")} }`;

  const slots = input.slots;
  const front: string[] = [];
  const uses: string[] = [];
  const backends: string[] = [];
  const unset = "!{ var(txn.route) -m found }";
  const notDomain = allDomains.length > 0 ? ` !${hostIs(allDomains)}` : "";
  for (const [appName, routes] of input.routes.apps()) {
    // In the table's order, longest prefix first, as the agent tries them; a function endpoint claims its prefix for the agent.
    for (const r of routes) {
      const e = r.spec;
      const target = e.kind === "webServer" ? backendName(appName, e.name) : "agent";
      const gateway = prefixConditions(`${WEB_PREFIX}/${appName}`, r.prefix).map((c) => `${unset}${notDomain} ${c}`);
      front.push(`  http-request set-var(txn.route) str(${target}) if ${gateway.join(" || ")}`);
      const own = e.domains.filter((d) => domains.includes(d));
      if (own.length > 0) {
        const byHost = prefixConditions("", r.prefix).map((c) => `${unset} ${hostIs(own)} ${c === "TRUE" ? "" : c}`.trimEnd());
        front.push(`  http-request set-var(txn.route) str(${target}) if ${byHost.join(" || ")}`);
      }
      if (e.kind !== "webServer") continue;
      const be = backendName(appName, e.name);
      const methods = e.methods.join(" ");
      const auth = e.public ? "" : " token";
      uses.push(
        `  use_backend ${be} if { var(txn.route) -m str ${be} } { method ${methods} }${auth} http11 origin_form normal_path one_host one_connection plain_connection plain_expect one_auth one_xff { nbsrv(${be}) gt 0 }`,
      );
      backends.push(
        [
          `backend ${be}`,
          "  balance leastconn",
          // A kept-alive connection the server closed just as it was reused: a bodiless GET/HEAD/OPTIONS
          // is sent once more (as the agent's own proxy and nginx do), anything else is not.
          "  retries 1",
          "  retry-on conn-failure empty-response",
          "  http-request disable-l7-retry unless { method GET HEAD OPTIONS } !{ req.body_size gt 0 }",
          // Slots, not servers added at run time: HAProxy 2.6 keeps no idle connections to those (a new one per request).
          `  server-template ${SLOT_PREFIX} 1-${slots.get(be) as number} 127.0.0.1:1 disabled`,
          `  http-request set-path / if${notDomain} { path ${WEB_PREFIX}/${appName} }`,
          `  http-request replace-path ^${WEB_PREFIX}/${appName}(/.*)$ \\1 if${notDomain} { path_beg ${WEB_PREFIX}/${appName}/ }`,
          "  http-request del-header ^x-forwarded-(?!for$) -m reg",
          `  http-request del-header ${PEER_HEADER}`,
          // Credentials for a proxy, not the app (as the agent's own proxy drops them).
          "  http-request del-header proxy-authorization",
          "  http-request set-header x-forwarded-host %[req.hdr(host)] if { req.hdr(host) -m found }",
          "  http-request set-header x-forwarded-proto http",
          '  http-request set-header x-forwarded-for "%[req.fhdr(x-forwarded-for)], %[src]" if { req.fhdr(x-forwarded-for) -m found }',
          "  http-request set-header x-forwarded-for %[src] unless { req.fhdr(x-forwarded-for) -m found }",
          `  http-request del-header authorization if { req.fhdr(authorization),digest(sha256),hex -m str ${tokenDigest} }`,
        ].join("\n"),
      );
    }
  }

  return `${[
    "# Written by the warmpool agent; rewritten on every deploy. Servers are added at run time.",
    "global",
    // One thread: far more requests per second than GPU containers answer, and every kept-alive server
    // connection is reusable by every request (no handing connections between threads).
    "  nbthread 1",
    `  stats socket ${input.socket} mode 600 level admin`,
    `  maxconn ${input.maxConnections + CONNECTION_MARGIN}`,
    // After a reload, streams still open on the old process (event streams, WebSockets) are cut after this long.
    "  hard-stop-after 1h",
    "defaults",
    "  mode http",
    "  option http-keep-alive",
    "  timeout connect 5s",
    // As the agent's own listener: the head within headersTimeout, idle keep-alive connections closed
    // after 75 s. With http-buffer-request a body HAProxy serves must arrive within the same time, up to
    // one buffer (16 KiB); the agent times the bodies of what it is handed itself (gateway/slow-bodies.ts).
    `  timeout http-request ${input.headersTimeout}s`,
    "  timeout http-keep-alive 75s",
    "  option http-buffer-request",
    // A client that goes away aborts its request to the agent too, so a synchronous call is cancelled
    // (as on the agent's own listener) instead of running to completion for nobody.
    "  option abortonclose",
    // Event streams and WebSockets are quiet for long stretches.
    "  timeout client 1h",
    "  timeout server 1h",
    "  timeout tunnel 1h",
    ...HAPROXY_ERRORS.map(([status, err]) => `  http-error status ${status} ${jsonAnswer(err)}`),
    "frontend gateway",
    // HTTP/1 only, as the agent's own listener (HAProxy would otherwise take cleartext HTTP/2 too).
    `  bind ${input.bind.host}:${input.bind.port} proto h1`,
    // Past the agent's connection cap: the same 503 the agent gives (gateway/connections.ts), decided
    // as it decides, when the connection is accepted (so the first maxConnections are served, not
    // everyone shed once a burst has arrived); global maxconn's margin lets those in to be told so.
    `  tcp-request connection set-var(sess.over) int(1) if { fe_conn gt ${input.maxConnections} }`,
    `  http-request return status 503 ${jsonAnswer(new AgentError("WP_ERR_OVERLOADED", [`the gateway already holds ${input.maxConnections} connections (--max-connections); retry later`]))} hdr retry-after 1 hdr connection close if { var(sess.over) -m found }`,
    `  acl token req.fhdr(authorization),digest(sha256),hex -m str ${tokenDigest}`,
    // Headers the agent would read differently (it takes the first Authorization and merges X-Forwarded-For).
    // A path not in normal form (and an absolute-form target) is the agent's to normalise or refuse
    // (routes/target.ts): HAProxy forwards only paths that normalisation leaves as they are.
    `  acl normal_path path_reg '${FAST_PATH}'`,
    "  acl origin_form url_beg /",
    // HAProxy passes other versions (HTTP/0.9, 1.0) on as they are; the agent answers them.
    "  acl http11 req.ver 1.1",
    "  acl one_auth req.fhdr_cnt(authorization) le 1",
    // HTTP/1.1 needs exactly one Host (node:http refuses the rest with a 400).
    "  acl one_host req.fhdr_cnt(host) eq 1",
    // HAProxy forwards headers a client names in Connection; the agent drops them (hop-by-hop).
    "  acl one_connection req.fhdr_cnt(connection) le 1",
    // An expectation other than 100-continue is refused (417) by the agent; HAProxy would pass it on.
    "  acl plain_expect req.fhdr_cnt(expect) eq 0",
    "  acl plain_expect req.fhdr(expect) -i -m str 100-continue",
    "  acl plain_connection req.fhdr_cnt(connection) eq 0",
    "  acl plain_connection req.fhdr(connection) -m reg -i '^\\s*(keep-alive|close)\\s*$'",
    "  acl one_xff req.fhdr_cnt(x-forwarded-for) le 1",
    ...front,
    ...uses,
    "  default_backend agent",
    ...backends,
    "backend agent",
    // The client's address, for the agent's own proxy to append to X-Forwarded-For (endpoints/proxy.ts `forwardHeaders`).
    `  http-request set-header ${PEER_HEADER} %[src]`,
    `  server agent ${input.agent.host}:${input.agent.port}`,
  ].join("\n")}\n`;
}
