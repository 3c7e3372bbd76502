/**
 * The clients' config file, `~/.warmpool/config.toml`: one table per agent (a profile), read by this
 * client and the Python one alike, written by `warmpool dev` for the agent it starts.
 *
 *   [dev]                                    # a profile: one agent
 *   url = "http://127.0.0.1:8765"
 *   token_file = "/home/me/project/.warmpool/token"
 *   active = true                            # used when nothing names a profile
 *
 * The format is a subset of TOML, the one the Python client reads without a TOML library (3.9 and 3.10
 * have none): tables `[name]` (letters, digits, `-`, `_`), each once; `key = value` lines inside a
 * table, each key once, whose value is a basic string `"…"` (escapes `\" \\ \n \t \r \b \f \uXXXX`), a
 * literal string `'…'`, `true`/`false` or an integer; `#` comments on their own line or after a value.
 * Anything else (arrays, inline tables, dotted keys, multi-line strings) is refused with its line, so a
 * file one client reads, the other reads the same way. Reading and writing are done here rather than
 * with a TOML library for that reason, and because writing one profile must keep every other line of
 * the file (comments included) as it is, which parse-then-stringify cannot.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export type Value = string | boolean | number;
export type Tables = Record<string, Record<string, Value>>;

/** The file is not in the config format; the message names the file and line. */
export class FileFormatError extends Error {
  override name = "FileFormatError";
}

const NAME = "[A-Za-z0-9_-]+";
const TABLE = new RegExp(`^\\[\\s*(${NAME})\\s*\\]\\s*(#.*)?$`);
const KEY = new RegExp(`^(${NAME})\\s*=\\s*`);
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" };

/** The tables of a config file: `{profile: {key: value}}`. */
export function parseConfig(text: string, where: string): Tables {
  const tables: Tables = Object.create(null) as Tables;
  let current: Record<string, Value> | null = null;
  let name = "";
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const at = `${where}:${i + 1}`;
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("[")) {
      const header = TABLE.exec(line);
      if (header === null) throw new FileFormatError(`${at}: a table is [name], the name of letters, digits, - and _`);
      name = header[1] as string;
      if (name in tables) throw new FileFormatError(`${at}: table [${name}] appears twice`);
      current = tables[name] = Object.create(null) as Record<string, Value>;
      continue;
    }
    const key = KEY.exec(line);
    if (key === null) throw new FileFormatError(`${at}: expected [profile] or key = value, got ${JSON.stringify(line)}`);
    const k = key[1] as string;
    if (current === null) throw new FileFormatError(`${at}: ${k} is outside any [profile] table`);
    const [value, rest] = parseValue(line.slice(key[0].length), at);
    if (rest.trim() !== "" && !rest.trim().startsWith("#")) throw new FileFormatError(`${at}: unexpected text after the value of ${k}`);
    if (k in current) throw new FileFormatError(`${at}: ${k} is set twice in [${name}]`);
    current[k] = value;
  }
  return tables;
}

function parseValue(text: string, at: string): [Value, string] {
  if (text.startsWith('"')) return basicString(text, at);
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) throw new FileFormatError(`${at}: unterminated string`);
    return [text.slice(1, end), text.slice(end + 1)];
  }
  const word = /^[A-Za-z0-9_+-]+/.exec(text)?.[0] ?? "";
  if (word === "true" || word === "false") return [word === "true", text.slice(word.length)];
  if (/^[+-]?(0|[1-9][0-9_]*)$/.test(word)) return [Number(word.replace(/_/g, "")), text.slice(word.length)];
  throw new FileFormatError(`${at}: values are "strings", true/false or integers, got ${JSON.stringify(text.trim())}`);
}

function basicString(text: string, at: string): [string, string] {
  let out = "";
  for (let i = 1; i < text.length;) {
    const c = text[i] as string;
    if (c === '"') return [out, text.slice(i + 1)];
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1] ?? "";
    if (e in ESCAPES) {
      out += ESCAPES[e];
      i += 2;
    } else if (e === "u" && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
      out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    } else {
      throw new FileFormatError(`${at}: unsupported escape \\${e} in a string`);
    }
  }
  throw new FileFormatError(`${at}: unterminated string`);
}

/** A basic string the reader above (and TOML) reads back as `s`. */
function quote(s: string): string {
  return `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    const named = Object.entries(ESCAPES).find(([, v]) => v === c)?.[0];
    return named !== undefined ? `\\${named}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  })}"`;
}

export interface ProfileWrite {
  /** The new text of the file. */
  text: string;
  /** Whether the profile was made the active one (no other profile was). */
  active: boolean;
  /** The other profile that is active, when there is one. */
  activeOther: string | null;
}

/**
 * The file's text with table `[name]` set to `url` and `token_file`, and `active = true` when no other
 * table is active. Every other line stays as it is; the table's own lines are replaced (a `token` it had
 * would conflict with `token_file`), and comment or blank lines after its last key are kept, since they
 * usually introduce the next table. A file that does not parse is refused (FileFormatError), not
 * rewritten.
 */
export function upsertProfile(text: string, where: string, name: string, values: { url: string; token_file: string }): ProfileWrite {
  if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`profile name ${JSON.stringify(name)}: letters, digits, - and _ only`);
  const tables = parseConfig(text, where);
  const activeOther = Object.keys(tables).find((t) => t !== name && tables[t]?.active === true) ?? null;
  const block = [`[${name}]`, `url = ${quote(values.url)}`, `token_file = ${quote(values.token_file)}`, ...(activeOther === null ? ["active = true"] : [])];
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split("\n");
  const start = lines.findIndex((l) => TABLE.exec(l.trim())?.[1] === name);
  if (start < 0) {
    const gap = lines.length > 0 && lines[lines.length - 1]?.trim() !== "" ? [""] : [];
    return { text: `${[...lines, ...gap, ...block].join("\n")}\n`, active: activeOther === null, activeOther };
  }
  let end = start + 1; // one past the table's last key line
  for (let i = start + 1; i < lines.length && !(lines[i] as string).trim().startsWith("["); i++) {
    const l = (lines[i] as string).trim();
    if (l !== "" && !l.startsWith("#")) end = i + 1;
  }
  return { text: `${[...lines.slice(0, start), ...block, ...lines.slice(end)].join("\n")}\n`, active: activeOther === null, activeOther };
}

/**
 * Writes `text` to `file` as a whole: to a temporary name beside it (mode `mode`), then renamed over
 * it, so a reader sees the old file or the new one, never half of one. The directory is made (0700)
 * when missing; a symbolic link is followed, so a config file kept elsewhere stays a link.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    // not there yet
  }
  const tmp = `${target}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode, flag: "wx" }); // "wx": made now, so with this mode (a umask only takes bits away)
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads `file` (null when it is not there), sets profile `name` in it, and writes it back (0600). */
export function writeProfile(file: string, name: string, values: { url: string; token_file: string }): ProfileWrite {
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const written = upsertProfile(text, file, name, values);
  writeFileAtomic(file, written.text);
  return written;
}
