// One JSON object per line on stdout/stderr, filtered by LOG_LEVEL: what CloudWatch and
// local tools both read well. Secrets are never passed in.

import type { Logger } from "../domain/logger.ts";
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel } from "./settings.ts";

export type { Logger };

/** A level's rank: its place in LOG_LEVELS, the settings table's list. */
const RANK = Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])) as Record<LogLevel, number>;

/**
 * LOG_LEVEL as a level, for code that logs before (or without) the whole configuration: the
 * Lambda functions, the consumer and the stack. Anything else is info; loadConfig refuses it.
 */
export function logLevelOf(value: string | undefined): LogLevel {
  return (LOG_LEVELS as readonly (string | undefined)[]).includes(value)
    ? (value as LogLevel)
    : DEFAULT_LOG_LEVEL;
}

export type LogSink = (level: LogLevel, line: string) => void;

const defaultSink: LogSink = (level, line) => {
  if (level === "error" || level === "warn") process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

/** Errors become name, message and cause chain, never a bare `{}`. */
function describe(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const out: Record<string, unknown> = { name: value.name, message: value.message };
  if (value.stack) out.stack = value.stack;
  if (value.cause !== undefined) out.cause = describe(value.cause);
  return out;
}

export function createLogger(level: LogLevel, sink: LogSink = defaultSink): Logger {
  const min = RANK[level];
  const log = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < min) return;
    // `timestamp` and `level` are what Lambda's JSON log format reads to file and filter a line.
    const entry: Record<string, unknown> = { level: at, timestamp: new Date().toISOString(), msg };
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = describe(v);
    sink(at, JSON.stringify(entry));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
