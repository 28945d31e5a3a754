/**
 * QueryPool: runs the HTTP API's ad-hoc queries (query, query_range, series, labels, label
 * values) in a worker thread that holds a replica of the store, never on the main thread
 * that scrapes, evaluates rules and decides scaling. The main thread only admits queries
 * (at most `maxConcurrency` at once, the rest wait in a FIFO queue within their timeout, as
 * Prometheus's --query.max-concurrency), ships the store's replication log before each
 * query (so a query sees every sample appended before it arrived) and every second, and
 * writes out the JSON the worker built.
 *
 * A query ends in a typed error at its deadline whatever the worker does: a query still
 * waiting is answered `timeout` at the deadline; one the worker started is given a grace
 * period to report its own timeout, past which it is answered `timeout` and the worker is
 * replaced (a fresh one starts from a snapshot of the store). A worker that dies (out of
 * memory, a bug) fails its queries as `unavailable` and is replaced on the next query.
 */
import { Worker } from 'node:worker_threads';
import { FlowpilotError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import type { MemoryStorage } from '../tsdb/storage.ts';
import type { ReplicationLog } from '../tsdb/replication.ts';
import { canceledError, timeoutError, unavailableError } from './errors.ts';
import { preciseNow } from './stats.ts';
import type { FromWorker, QueryRequest, QueryWorkerData, ToWorker } from './query-protocol.ts';

export type { QueryRequest } from './query-protocol.ts';

export interface QueryCallOptions {
  timeoutMs: number;
  /** Aborted when the client goes away: the query ends as `canceled`. */
  signal?: AbortSignal;
}

/** Where the HTTP API sends its queries; resolves with the success body (JSON text), rejects with a typed query error. */
export interface QueryBackend {
  run(req: QueryRequest, opts: QueryCallOptions): Promise<string>;
}

export interface QueryPoolOptions {
  storage: MemoryStorage;
  maxConcurrency: number;
  lookbackDeltaMs: number;
  maxSamples: number;
  logger?: Logger;
  /** How long a started query may run past its deadline before its worker is replaced. Default 500 ms. */
  graceMs?: number;
  /** Heap limit of the worker (MB); past it the worker dies and its queries fail as `unavailable`. */
  maxOldGenerationSizeMb?: number;
}

interface Pending {
  id: number;
  slot: number;
  deadline: number;
  started: boolean;
  resolve: (body: string) => void;
  reject: (err: FlowpilotError) => void;
  timer: NodeJS.Timeout | null;
}

/**
 * The replication log goes to the worker at least this often (and before every query, so no
 * query waits for it). Every 100 ms was a message, a copy and a wake-up of the worker ten times a
 * second on a fleet replica collecting all the time (BENCHMARKS.md, "Fleet").
 */
const FLUSH_INTERVAL_MS = 1000;
const DEFAULT_GRACE_MS = 500;

export class QueryPool implements QueryBackend {
  private readonly opts: QueryPoolOptions;
  private readonly log: Logger;
  private readonly cancelFlags: Int32Array;
  private readonly freeSlots: number[] = [];
  private readonly waiting: Array<{ grant: (slot: number) => void }> = [];
  private readonly pending = new Map<number, Pending>();
  private worker: Worker | null = null;
  private replication: ReplicationLog | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private lastSpawn = -Infinity;
  private stopped = false;
  /** Workers started so far (the first one included). */
  spawns = 0;

  constructor(opts: QueryPoolOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger();
    const buf = new SharedArrayBuffer(4 * opts.maxConcurrency);
    this.cancelFlags = new Int32Array(buf);
    for (let i = opts.maxConcurrency - 1; i >= 0; i--) this.freeSlots.push(i);
  }

  /** Queries admitted and not finished / waiting for admission. */
  get active(): number {
    return this.opts.maxConcurrency - this.freeSlots.length;
  }

  get queued(): number {
    return this.waiting.length;
  }

  start(): void {
    this.spawn();
    this.flushTimer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.failAll(unavailableError('the agent is shutting down'));
    this.opts.storage.stopReplication();
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  async run(req: QueryRequest, opts: QueryCallOptions): Promise<string> {
    const enqueuedAt = preciseNow();
    const deadline = Date.now() + opts.timeoutMs;
    const slot = await this.admit(deadline, opts.signal);
    try {
      return await this.dispatch(req, slot, deadline, opts.signal, enqueuedAt);
    } finally {
      this.release(slot);
    }
  }

  /** Waits for a free slot (FIFO) until the deadline or the client's abort. */
  private admit(deadline: number, signal: AbortSignal | undefined): Promise<number> {
    if (signal?.aborted === true) return Promise.reject(canceledError('query queue'));
    const free = this.freeSlots.pop();
    if (free !== undefined) return Promise.resolve(free);
    return new Promise<number>((resolve, reject) => {
      const entry = {
        grant: (slot: number): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      const drop = (err: FlowpilotError): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        drop(canceledError('query queue'));
      };
      const timer = setTimeout(() => drop(timeoutError('query queue')), Math.max(0, deadline - Date.now()));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.grant(slot);
    else this.freeSlots.push(slot);
  }

  private dispatch(req: QueryRequest, slot: number, deadline: number, signal: AbortSignal | undefined, enqueuedAt: number): Promise<string> {
    if (this.stopped) return Promise.reject(unavailableError('the agent is shutting down'));
    const worker = this.worker ?? this.respawn();
    if (worker === null) return Promise.reject(unavailableError('the query worker is restarting; try again'));
    this.flush();
    Atomics.store(this.cancelFlags, slot, 0);
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const onAbort = (): void => { Atomics.store(this.cancelFlags, slot, 1); };
      signal?.addEventListener('abort', onAbort, { once: true });
      const p: Pending = {
        id,
        slot,
        deadline,
        started: false,
        resolve: (body) => { signal?.removeEventListener('abort', onAbort); resolve(body); },
        reject: (err) => { signal?.removeEventListener('abort', onAbort); reject(err); },
        timer: null,
      };
      p.timer = setTimeout(() => this.overdue(p), Math.max(0, deadline - Date.now()));
      this.pending.set(id, p);
      this.post(worker, { type: 'query', id, slot, deadline, req, enqueuedAt });
    });
  }

  /** At the deadline: a query not started yet is answered now; a started one gets the grace period. */
  private overdue(p: Pending): void {
    if (!this.pending.has(p.id)) return;
    if (!p.started) {
      Atomics.store(this.cancelFlags, p.slot, 1);
      this.settle(p.id, timeoutError('query queue'));
      return;
    }
    p.timer = setTimeout(() => {
      if (!this.pending.has(p.id)) return;
      this.log.warn({ graceMs: this.opts.graceMs ?? DEFAULT_GRACE_MS }, 'a query ran past its deadline in the query worker; replacing the worker');
      this.settle(p.id, timeoutError());
      // Detached now, so a query dispatched from here on goes to the replacement instead of being
      // posted to the stuck worker and failed with it. The replacement is started after the answers
      // are written (starting a worker takes a snapshot of the store), unless a query starts it first.
      this.detach(this.worker, 'a query ran past its deadline');
      setImmediate(() => {
        if (!this.stopped && this.worker === null) this.spawn();
      });
    }, this.opts.graceMs ?? DEFAULT_GRACE_MS);
  }

  private settle(id: number, outcome: string | FlowpilotError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (typeof outcome === 'string') p.resolve(outcome);
    else p.reject(outcome);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'started') {
      const p = this.pending.get(m.id);
      if (p) p.started = true;
    } else if (m.type === 'ok') this.settle(m.id, m.body);
    else this.settle(m.id, new FlowpilotError(m.code as `FP_${string}`, m.message));
  }

  private post(worker: Worker, m: ToWorker): void {
    if (m.type === 'batch') worker.postMessage(m, [m.batch.ops.buffer as ArrayBuffer]);
    else worker.postMessage(m);
  }

  /** Ships what the store recorded since the last flush; dropped while no worker follows the store. */
  private flush(): void {
    const batch = this.replication?.drain();
    if (batch == null || this.worker === null) return;
    this.post(this.worker, { type: 'batch', batch });
  }

  private spawn(): Worker {
    const data: QueryWorkerData = {
      retentionMs: this.opts.storage.retentionMs,
      lookbackDeltaMs: this.opts.lookbackDeltaMs,
      maxSamples: this.opts.maxSamples,
      cancelFlags: this.cancelFlags.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(new URL('./query-worker-boot.ts', import.meta.url), {
      workerData: data,
      ...(this.opts.maxOldGenerationSizeMb ? { resourceLimits: { maxOldGenerationSizeMb: this.opts.maxOldGenerationSizeMb } } : {}),
    });
    worker.unref();
    const { log, snapshot } = this.opts.storage.startReplication();
    this.replication = log;
    this.post(worker, { type: 'batch', batch: snapshot });
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.log.error({ err: err.message }, 'the query worker failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.replication = null;
      this.opts.storage.stopReplication();
      if (!this.stopped) this.log.warn({ code }, 'the query worker stopped; a new one starts with the next query');
      this.failAll(unavailableError(`the query worker stopped (exit code ${code})`));
    });
    this.worker = worker;
    this.lastSpawn = Date.now();
    this.spawns++;
    return worker;
  }

  /** A new worker, unless one died less than a second ago (then queries fail fast as unavailable). */
  private respawn(): Worker | null {
    if (Date.now() - this.lastSpawn < 1000) return null;
    return this.spawn();
  }

  /** Stops following the store with this worker, fails what it was running, and terminates it. */
  private detach(old: Worker | null, reason: string): void {
    if (old === null || this.worker !== old) return;
    this.worker = null;
    this.replication = null;
    this.opts.storage.stopReplication();
    this.failAll(unavailableError(`the query worker was replaced: ${reason}`));
    void old.terminate();
  }

  private failAll(err: FlowpilotError): void {
    for (const id of [...this.pending.keys()]) this.settle(id, err);
  }
}
