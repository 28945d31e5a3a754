/**
 * Simple sinks: discard (counts and drops, for throughput tests) and log (writes records as
 * pino log lines, optionally only every n-th, for demos and debugging).
 */
import type { Logger } from '../../common/log.ts';
import { createLogger } from '../../common/log.ts';
import type { Sink } from '../api/functions.ts';

export function discardSink<T>(name = 'discard'): Sink<T> & { received(): number } {
  let n = 0;
  return {
    name,
    received: () => n,
    createWriter: () => ({
      write(records: T[]) {
        n += records.length;
      },
    }),
  };
}

export interface LogSinkOptions {
  name?: string;
  /** Log only every n-th record; default 1. */
  every?: number;
  logger?: Logger;
}

export function logSink<T>(options: LogSinkOptions = {}): Sink<T> {
  const every = Math.max(1, Math.floor(options.every ?? 1));
  return {
    name: options.name ?? 'log',
    createWriter: (ctx) => {
      const log = (options.logger ?? createLogger({ name: 'sink' })).child({ subtask: ctx.subtaskIndex });
      let seen = 0;
      return {
        write(records: T[]) {
          for (let i = 0; i < records.length; i++) {
            if (seen++ % every === 0) log.info({ record: records[i] }, 'record');
          }
        },
      };
    },
  };
}
