/**
 * One catalogue of the agent's errors: a stable `WP_ERR_*` code, the HTTP status the gateway answers
 * with, and a message template. Every JSON error body is `{"error": {"code", "message", ...details}}`,
 * so clients branch on `code`, never on wording; `errorBody` writes it and `errorHeaders` the headers
 * that go with it, for every way an answer leaves the agent (a fastify reply, a raw socket, an NDJSON
 * line, HAProxy's configuration).
 */

import { STATUS_CODES as STATUS_TEXT } from "node:http";

export interface ErrorDef {
  status: number;
  template: string;
}

export const ERRORS = {
  WP_ERR_BAD_REQUEST: { status: 400, template: "malformed request: %s" },
  WP_ERR_BAD_PATH: { status: 400, template: "request path %s: %s" },
  WP_ERR_UNAUTHORIZED: { status: 401, template: "missing bearer token: send 'Authorization: Bearer <token>'" },
  WP_ERR_FORBIDDEN: { status: 403, template: "the bearer token is not valid for this agent" },
  WP_ERR_TOKEN_SCOPE: {
    status: 403,
    template: "the token of app %s may not %s: an App token calls, spawns and maps its App's functions, reads and cancels their calls, and uses its App's Dicts and Queues",
  },
  WP_ERR_APP_NOT_FOUND: { status: 404, template: "app %s is not deployed" },
  WP_ERR_FUNCTION_NOT_FOUND: { status: 404, template: "app %s has no function %s" },
  WP_ERR_CALL_NOT_FOUND: { status: 404, template: "call %s does not exist (or its result has expired)" },
  WP_ERR_DICT_NOT_FOUND: { status: 404, template: "dict %s does not exist%s; create it with PUT /v1/dicts/%s (Python: Dict.from_name(name, create_if_missing=True))" },
  WP_ERR_QUEUE_NOT_FOUND: { status: 404, template: "queue %s does not exist%s; create it with PUT /v1/queues/%s (Python: Queue.from_name(name, create_if_missing=True))" },
  WP_ERR_CONTAINER_NOT_FOUND: { status: 404, template: "container %s is not running%s (`warmpool container list` lists those that are)" },
  WP_ERR_PAYLOAD_NOT_FOUND: { status: 404, template: "payload %s does not exist: it was used already (a stored payload runs once), expired, or stored with another App's token" },
  WP_ERR_ROUTE_NOT_FOUND: { status: 404, template: "no route %s" },
  WP_ERR_ENDPOINT_NOT_FOUND: { status: 404, template: "no endpoint for %s" },
  WP_ERR_METHOD_NOT_ALLOWED: { status: 405, template: "%s" },
  WP_ERR_REQUEST_TIMEOUT: { status: 408, template: "%s" },
  WP_ERR_NOT_STANDALONE: { status: 409, template: "app %s comes from the spec file %s and cannot be replaced over the API; edit the file instead" },
  WP_ERR_PARENT_NOT_RUNNING: { status: 409, template: "parent call %s (header %s) is %s: a call made from inside a call must be made while its parent runs" },
  WP_ERR_COLLECTION_FULL: { status: 409, template: "%s holds %s (limit %s): %s more would pass it; remove some first" },
  WP_ERR_VALUE_TOO_LARGE: { status: 413, template: "%s of %s is %s bytes as JSON; the limit is %s bytes" },
  WP_ERR_PAYLOAD_TOO_LARGE: { status: 413, template: "request body is larger than the payload limit of %s bytes" },
  WP_ERR_EXPECTATION_FAILED: { status: 417, template: "Expect: %s is not supported (only 100-continue)" },
  WP_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, template: "%s" },
  WP_ERR_TOO_MANY_PENDING: { status: 429, template: "function %s already has %s pending inputs (limit %s); retry later" },
  WP_ERR_HEADERS_TOO_LARGE: { status: 431, template: "request headers are larger than %s bytes" },
  WP_ERR_INVALID_SPEC: { status: 400, template: "%s" },
  // 500; 499 when the call was cancelled, 503 when its containers could not start (endpoints/function-endpoint.ts).
  WP_ERR_HANDLER_FAILED: { status: 500, template: "%s" },
  WP_ERR_INTERNAL: { status: 500, template: "internal error: %s" },
  WP_ERR_NOT_IMPLEMENTED: { status: 501, template: "%s" },
  WP_ERR_UPSTREAM: { status: 502, template: "%s" },
  WP_ERR_NOT_A_WEB_SERVER: { status: 502, template: "%s" },
  WP_ERR_OVERLOADED: { status: 503, template: "%s" },
  WP_ERR_FUNCTION_FAILING: { status: 503, template: "function %s is failing: %s; new calls are refused for %s s (a probe call is let through then)" },
  WP_ERR_SHUTTING_DOWN: { status: 503, template: "the agent is shutting down" },
  WP_ERR_ENDPOINT_OVERLOADED: { status: 503, template: "%s" },
  WP_ERR_COLD_START_TIMEOUT: { status: 503, template: "no container of %s became ready within its startup timeout (%s s)" },
  // A start that would fail the same way again (import error, @enter raising); `traceback` in the body.
  WP_ERR_START_FAILED: { status: 503, template: "%s cannot start: %s" },
  WP_ERR_UPSTREAM_TIMEOUT: { status: 504, template: "%s" },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** An error the gateway turns into its HTTP status and JSON body. */
export class AgentError extends Error {
  readonly status: number;

  /** `status`: another than the catalogue's, where the catalogue says which (WP_ERR_HANDLER_FAILED). */
  constructor(
    readonly code: ErrorCode,
    args: readonly (string | number)[] = [],
    readonly details: Record<string, unknown> = {},
    status?: number,
  ) {
    super(format(ERRORS[code].template, args));
    this.name = "AgentError";
    this.status = status ?? ERRORS[code].status;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** The JSON text of an error's body: how every error the agent (or HAProxy for it) answers is written. */
export function errorBody(err: AgentError): string {
  return JSON.stringify(err.toJSON());
}

/**
 * The headers an error's answer carries: `Retry-After` and `Allow` from its details, and
 * `Connection: close` after a 408, 413 or 431, whose request may not have been read to its end (a
 * half-read body must not be taken for the next request on the connection).
 */
export function errorHeaders(err: AgentError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof err.details.retryAfter === "number") headers["retry-after"] = String(err.details.retryAfter);
  if (typeof err.details.allow === "string") headers.allow = err.details.allow;
  if (err.status === 408 || err.status === 413 || err.status === 431) headers.connection = "close";
  return headers;
}

/**
 * An error as a whole HTTP/1.1 response, for sockets no framework owns (refused connections, upgrades,
 * parse errors): the same JSON body and headers, and always `Connection: close`, since the rest of the
 * request may still be on its way. `headers`: more of them (a refused connection's `Retry-After`).
 */
export function rawResponse(err: AgentError, headers: Record<string, string> = {}): string {
  const body = errorBody(err);
  let head = `HTTP/1.1 ${err.status} ${STATUS_TEXT[err.status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  const { connection: _close, ...implied } = errorHeaders(err);
  for (const [k, v] of Object.entries({ ...implied, ...headers })) head += `${k}: ${v}\r\n`;
  return `${head}\r\n${body}`;
}

function format(template: string, args: readonly (string | number)[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ""));
}

/**
 * What a failed input reports: the remote exception (type, message, traceback) or one of the agent's
 * own failure types below.
 */
export interface RemoteError {
  type: string;
  message: string;
  traceback?: string;
  /** Why the agent stopped retrying before the declared retries were used ("retry budget exhausted"). */
  reason?: string;
}

/** Failure types the agent itself assigns to an attempt. */
export const ATTEMPT_ERRORS = {
  timeout: "FunctionTimeoutError",
  crashed: "ContainerCrashed",
  protocol: "WorkerProtocolError",
  startup: "ContainerStartupError",
  cancelled: "CallCancelled",
} as const;
