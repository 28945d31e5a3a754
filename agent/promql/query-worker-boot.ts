/**
 * Entry of the query worker thread. It lowers the thread's scheduling priority before
 * anything else (loading the engine's modules takes CPU too), then loads the worker. On
 * Linux a nice value is per thread, so on a busy host the agent's main thread (scrapes,
 * rules, scaling, /-/healthy) runs ahead of ad-hoc queries.
 */
import { constants, setPriority } from 'node:os';

try {
  setPriority(constants.priority.PRIORITY_BELOW_NORMAL);
} catch {
  // Not permitted or not supported here: queries run at the agent's priority.
}
await import('./query-worker.ts');
