// What the code below the runtime may log through: the runtime makes the Logger (JSON lines,
// filtered by LOG_LEVEL); domain, http and stores only receive one.

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}
