/** Structured logs: one JSON object per line on stderr, with a level threshold. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  level: LogLevel;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A line on stderr. A write that fails (the reader of a pipe gone: `serve 2>&1 | head`, a log
 * disk full) loses that line and no more: without a listener, stderr's 'error' event would end
 * the process and every call in flight with it.
 */
function writeStderr(line: string): void {
  if (!stderrErrorsHeard) {
    stderrErrorsHeard = true;
    process.stderr.on('error', () => undefined);
  }
  process.stderr.write(line + '\n');
}
let stderrErrorsHeard = false;

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = writeStderr): Logger {
  const log = (at: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[at] < RANK[logger.level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...fields }));
  };
  const logger: Logger = { level, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return logger;
}

export const isLogLevel = (s: string): s is LogLevel => s in RANK;
