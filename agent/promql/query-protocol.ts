/**
 * Messages between the agent's main thread and its query worker (query-pool.ts,
 * query-worker.ts). Requests carry the query's absolute deadline (ms since the epoch, a
 * clock both threads share) and a slot in a shared Int32Array whose 1 means "canceled".
 * Replies carry the finished JSON body, so the main thread only writes it out. `enqueuedAt`
 * (stats.ts preciseNow, when the API handed the query to the pool) gives `stats=` its queue time;
 * a request's `stats` is the parameter as given.
 */
import type { ReplicaBatch } from '../tsdb/replication.ts';

export type QueryRequest =
  | { kind: 'instant'; query: string; time: number; stats?: string }
  | { kind: 'range'; query: string; start: number; end: number; step: number; stats?: string }
  | { kind: 'series'; match: string[]; start: number; end: number }
  | { kind: 'labels'; match: string[] }
  | { kind: 'label_values'; name: string; match: string[] };

export interface QueryWorkerData {
  retentionMs: number;
  lookbackDeltaMs: number;
  maxSamples: number;
  /** Int32Array over it: one cancel flag per slot. */
  cancelFlags: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'batch'; batch: ReplicaBatch }
  | { type: 'query'; id: number; slot: number; deadline: number; req: QueryRequest; enqueuedAt: number };

export type FromWorker =
  | { type: 'started'; id: number }
  | { type: 'ok'; id: number; body: string }
  | { type: 'error'; id: number; code: string; message: string };
