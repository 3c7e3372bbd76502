/**
 * How the CLI writes: `-o json|yaml|wide` (or the default, for people), colour only where a person
 * looks (a terminal, without NO_COLOR or --no-color), tables as plain kubectl-style columns, and a
 * reader that goes away (`warmpool map … | head -3`) ends the command quietly instead of with an EPIPE
 * stack trace.
 */
import { styleText } from "node:util";
import Table from "cli-table3";
import { stringify } from "yaml";

export const FORMATS = ["json", "yaml", "wide"] as const;
export type Format = (typeof FORMATS)[number];

/** Options every client command has. */
export interface OutputFlags {
  output?: Format;
  /** Hidden alias of `-o json` (kept for scripts written before `-o`). */
  json?: boolean;
}

type Style = Parameters<typeof styleText>[0];

/** colorOn decides, per stream; styleText would look at stdout only (newer Node does), wrong for stderr. */
const NO_CHECK = { validateStream: false };

/**
 * Colour on a stream: only a terminal, and not when NO_COLOR is set to anything non-empty
 * (no-color.org), TERM is dumb, or --no-color was given.
 */
export function colorOn(stream: NodeJS.WriteStream, flag: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && flag && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

/** Where and how a command writes: its format, and whether stdout and stderr get colour. */
export class Output {
  readonly format: Format | undefined;
  readonly colorOut: boolean;
  readonly colorErr: boolean;

  constructor(
    flags: OutputFlags,
    color: boolean,
    readonly out: NodeJS.WriteStream = process.stdout,
    readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    this.format = flags.output ?? (flags.json === true ? "json" : undefined);
    this.colorOut = colorOn(out, color);
    this.colorErr = colorOn(err, color);
  }

  write(text: string): void {
    this.out.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** A line on stderr (messages, summaries, errors), coloured only when stderr is a terminal. */
  note(text: string, style?: Style): void {
    this.err.write(`${style === undefined ? text : this.paintErr(style, text)}\n`);
  }

  paint(style: Style, text: string): string {
    return this.colorOut ? styleText(style, text, NO_CHECK) : text;
  }

  paintErr(style: Style, text: string): string {
    return this.colorErr ? styleText(style, text, NO_CHECK) : text;
  }

  /** A document as -o json (indented) or -o yaml; `plain` prints it otherwise. */
  document(value: unknown, plain: () => void = () => this.write(human(value))): void {
    if (this.format === "json") this.write(JSON.stringify(value, null, 2));
    else if (this.format === "yaml") this.write(stringify(value));
    else plain();
  }

  /** One item of a stream, as text ending in a newline: a JSON line (NDJSON), or a YAML document. */
  item(value: unknown, style?: Style): string {
    if (this.format === "yaml") return `---\n${stringify(value)}`;
    return `${style === undefined ? JSON.stringify(value) : this.paint(style, JSON.stringify(value))}\n`;
  }

  /** Plain columns, kubectl-style: upper-case head, three spaces between columns, no borders. */
  table(head: string[], rows: Array<Array<Cell>>): void {
    this.write(columns(head, rows, (s, t) => this.paint(s, t)));
  }
}

/** A table cell: text, or text with a colour for terminals. */
export type Cell = string | number | null | undefined | { text: string; style: Style };

export function columns(head: string[], rows: Array<Array<Cell>>, paint: (style: Style, text: string) => string = (_s, t) => t): string {
  const t = new Table({ head: head.map((h) => h.toUpperCase()), chars: NO_BORDER, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
  for (const row of rows) t.push(row.map((c) => (c === null || c === undefined ? "-" : typeof c === "object" ? paint(c.style, c.text) : String(c))));
  return t
    .toString()
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
}

const NO_BORDER = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "   ",
};

/** A value for people: a string as it is, anything else as indented JSON. */
export function human(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value, null, 2) ?? "null");
}

/**
 * A reader that closes the pipe early (`| head -3`) is not an error: stop writing and exit 0, quietly.
 * Node ignores SIGPIPE, so without this each later write fails with an EPIPE 'error' event, which
 * nothing handles, and the process dies with a stack trace.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}
