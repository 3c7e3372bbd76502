/**
 * The agent's logger. By default one JSON object per line on stderr, for machines: `"level": "info"`
 * (the name, not pino's number) and `"time": "2026-12-02T20:31:37.120Z"` (ISO 8601, UTC), so that a
 * log pipeline needs no pino-specific mapping. `pretty` (what `warmpool dev` uses on a terminal) is
 * pino-pretty's readable line: `20:31:37.120 INFO: call fc-… quickstart/square succeeded in 3 ms`,
 * the fields under it, colour only where colour may go.
 *
 * pino-pretty runs in this thread (not as a transport's worker) and writes synchronously: a dev agent
 * logs little, and its last lines before a crash are the ones that matter.
 */
import pino, { type Logger, type LoggerOptions } from "pino";
import pretty from "pino-pretty";

export type LogFormat = "json" | "pretty";
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export function agentLogger(level: LogLevel, format: LogFormat = "json", color = false): Logger {
  const base: LoggerOptions = { level, base: { component: "warmpool-agent" }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === "pretty") {
    return pino(base, pretty({ destination: 2, sync: true, colorize: color, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,component", singleLine: true }));
  }
  return pino({ ...base, formatters: { level: (label) => ({ level: label }) } }, pino.destination(2));
}
