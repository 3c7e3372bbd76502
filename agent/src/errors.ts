/**
 * One catalogue of the agent's errors: a stable `WP_ERR_*` code, the HTTP status the gateway answers
 * with, and a message template. Every JSON error body is `{"error": {"code", "message", ...details}}`,
 * so clients branch on `code`, never on wording.
 */

export interface ErrorDef {
  status: number;
  template: string;
}

export const ERRORS = {
  WP_ERR_BAD_REQUEST: { status: 400, template: "malformed request: %s" },
  WP_ERR_UNAUTHORIZED: { status: 401, template: "missing bearer token: send 'Authorization: Bearer <token>'" },
  WP_ERR_FORBIDDEN: { status: 403, template: "the bearer token is not valid for this agent" },
  WP_ERR_APP_NOT_FOUND: { status: 404, template: "app %s is not deployed" },
  WP_ERR_FUNCTION_NOT_FOUND: { status: 404, template: "app %s has no function %s" },
  WP_ERR_CALL_NOT_FOUND: { status: 404, template: "call %s does not exist (or its result has expired)" },
  WP_ERR_ROUTE_NOT_FOUND: { status: 404, template: "no route %s" },
  WP_ERR_PAYLOAD_TOO_LARGE: { status: 413, template: "request body is larger than the payload limit of %s bytes" },
  WP_ERR_TOO_MANY_PENDING: { status: 429, template: "function %s already has %s pending inputs (limit %s); retry later" },
  WP_ERR_INVALID_SPEC: { status: 400, template: "%s" },
  WP_ERR_NOT_STANDALONE: { status: 409, template: "apps of this agent come from %s and cannot be replaced over the API" },
  WP_ERR_SHUTTING_DOWN: { status: 503, template: "the agent is shutting down" },
  WP_ERR_INTERNAL: { status: 500, template: "internal error: %s" },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/** An error the gateway turns into its HTTP status and JSON body. */
export class AgentError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    args: readonly (string | number)[] = [],
    readonly details: Record<string, unknown> = {},
  ) {
    super(format(ERRORS[code].template, args));
    this.name = "AgentError";
    this.status = ERRORS[code].status;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
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
}

/** Failure types the agent itself assigns to an attempt. */
export const ATTEMPT_ERRORS = {
  timeout: "FunctionTimeoutError",
  crashed: "ContainerCrashed",
  protocol: "WorkerProtocolError",
  startup: "ContainerStartupError",
  cancelled: "CallCancelled",
} as const;
