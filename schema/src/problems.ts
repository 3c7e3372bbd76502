/**
 * Problems found in a spec, and the one error that reports all of them.
 *
 * The provider (pulumi preview) and the agent (local YAML specs) report bad input through the same
 * SpecError so that a user sees the same words whichever way the spec arrived.
 */

export interface Problem {
  /** Dotted path of the field, e.g. `autoscaler.minContainers` or `volumes./models`. */
  path: string;
  /** The offending value; `undefined` for a missing field. */
  value: unknown;
  /** What is wrong and what is allowed. */
  message: string;
  /**
   * Other fields the problem compares against. A consistency problem is dropped when one of them is
   * already invalid on its own: it would only repeat that problem in other words.
   */
  related?: string[];
}

export class SpecError extends Error {
  readonly code = "WP_ERR_INVALID_SPEC";

  constructor(
    /** Names the resource or request, e.g. `warmpool:index:Function "llm"`. */
    readonly subject: string,
    readonly problems: readonly Problem[],
  ) {
    super(formatProblems(subject, problems));
    this.name = "SpecError";
  }
}

/** Each problem once: the same path and message found by two checks is one problem. */
export function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatProblem(problem: Problem): string {
  const field = problem.path === "" ? "(spec)" : problem.path;
  const value = problem.value === undefined ? "" : ` = ${formatValue(problem.value)}`;
  return `${field}${value}: ${problem.message}`;
}

export function formatProblems(subject: string, problems: readonly Problem[]): string {
  const count = problems.length === 1 ? "1 invalid field" : `${problems.length} invalid fields`;
  return [`${subject} has ${count}:`, ...problems.map((p) => `  - ${formatProblem(p)}`)].join("\n");
}

/** Joins a parent path and a key, quoting nothing: paths are for people, not for parsers. */
export function joinPath(parent: string, key: string | number): string {
  if (parent === "") return String(key);
  return typeof key === "number" ? `${parent}[${key}]` : `${parent}.${key}`;
}
