/**
 * Structured logging. Every service logs JSON lines through pino; `FLOWPILOT_LOG_LEVEL`
 * is read once here, at the edge, and nowhere else.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env.FLOWPILOT_LOG_LEVEL ?? 'info';
  const options = { name: opts.name, level, base: { pid: process.pid, ...opts.base } };
  return opts.destination ? pino(options, opts.destination) : pino(options, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything: for unit tests of code that takes a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
