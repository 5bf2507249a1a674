// One JSON object per line on stdout/stderr, filtered by LOG_LEVEL: what CloudWatch and
// local tools both read well. Secrets are never passed in.

import type { LogLevel } from "./config.ts";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * LOG_LEVEL as a level, for code that logs before (or without) the whole configuration: the
 * Lambda functions, the consumer and the stack. Anything else is info; loadConfig refuses it.
 */
export function logLevelOf(value: string | undefined): LogLevel {
  return value !== undefined && value in RANK ? (value as LogLevel) : "info";
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
