/**
 * The query worker: a thread that holds a replica of the agent's store (fed by the main
 * thread's replication batches, in order) and answers the HTTP API's ad-hoc queries
 * against it, so no query can take time from the thread that scrapes, evaluates rules
 * and decides scaling. Each query runs under its deadline and cancel flag; every failure
 * is answered as a typed query error (errors.ts). Started through query-worker-boot.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, FlowpilotError } from '../../common/errors.ts';
import { MemoryStorage } from '../tsdb/storage.ts';
import { applyReplicaBatch } from '../tsdb/replication.ts';
import type { LabelMatcher, Labels } from '../tsdb/index.ts';
import { PromQLEngine } from './engine.ts';
import { canceledError, promErrorType, timeoutError, toQueryError } from './errors.ts';
import { parseExpr } from './parser.ts';
import { toApiData } from './value.ts';
import type { FromWorker, QueryRequest, QueryWorkerData, ToWorker } from './query-protocol.ts';
import type { QueryResult } from './value.ts';
import { preciseNow, statsParam, type QueryStats } from './stats.ts';

const data = workerData as QueryWorkerData;

const port = parentPort!;
const store = new MemoryStorage({ retentionMs: data.retentionMs, maxSeries: Number.MAX_SAFE_INTEGER });
const engine = new PromQLEngine(store, { lookbackDeltaMs: data.lookbackDeltaMs, maxSamples: data.maxSamples });
const refs = new Map<number, unknown>();
const cancelFlags = new Int32Array(data.cancelFlags);

function send(m: FromWorker): void {
  port.postMessage(m);
}

function successBody(data: unknown, warnings: string[] = [], infos: string[] = []): string {
  return JSON.stringify({ status: 'success', data, ...(warnings.length > 0 ? { warnings } : {}), ...(infos.length > 0 ? { infos } : {}) });
}

/** Parses text, prefixing parse errors with the parameter they came from, as Prometheus's API does. */
function parseParam(text: string, param: string): ReturnType<typeof parseExpr> {
  try {
    return parseExpr(text);
  } catch (err) {
    const e = toQueryError(err, 'parse');
    throw new FlowpilotError(e.code, `invalid parameter "${param}": ${e.message}`);
  }
}

function matcherSets(match: string[]): LabelMatcher[][] {
  return match.map((m) => {
    const e = parseParam(m, 'match[]');
    if (e.kind !== 'vector_selector') throw new FlowpilotError('FP_PROMQL_PARSE', `invalid parameter "match[]": 1:1: parse error: expected type instant vector in selector, got ${e.kind}`);
    return [...e.matchers];
  });
}

function queryBody(r: QueryResult, stats: QueryStats | undefined): string {
  const data = toApiData(r.data);
  return successBody(stats === undefined ? data : { ...data, stats: stats.toJSON() }, r.warnings, r.infos);
}

async function answer(req: QueryRequest, deadline: number, canceled: () => boolean, queueMs: number): Promise<string> {
  const timeoutMs = (): number => {
    const left = deadline - Date.now();
    if (left <= 0) throw timeoutError();
    if (canceled()) throw canceledError();
    return left;
  };
  switch (req.kind) {
    case 'instant': {
      const expr = parseParam(req.query, 'query');
      const stats = withQueue(statsParam(req.stats), queueMs);
      return queryBody(engine.instantQuerySync(expr, req.time, { timeoutMs: timeoutMs(), canceled, ...(stats ? { stats } : {}) }), stats);
    }
    case 'range': {
      const expr = parseParam(req.query, 'query');
      const stats = withQueue(statsParam(req.stats), queueMs);
      return queryBody(await engine.rangeQuery(expr, req.start, req.end, req.step, { timeoutMs: timeoutMs(), canceled, ...(stats ? { stats } : {}) }), stats);
    }
    case 'series': {
      const sets = matcherSets(req.match);
      const seen = new Map<string, Labels>();
      for (const matchers of sets) {
        timeoutMs();
        for (const l of store.series(matchers, req.start, req.end)) seen.set(JSON.stringify(l), l);
      }
      return successBody([...seen.values()]);
    }
    case 'labels': {
      const sets = matcherSets(req.match);
      if (sets.length === 0) return successBody(store.labelNames());
      const names = new Set<string>();
      for (const m of sets) for (const n of store.labelNames(m)) names.add(n);
      return successBody([...names].sort());
    }
    case 'label_values': {
      const sets = matcherSets(req.match);
      if (sets.length === 0) return successBody(store.labelValues(req.name));
      const values = new Set<string>();
      for (const m of sets) for (const v of store.labelValues(req.name, m)) values.add(v);
      return successBody([...values].sort());
    }
  }
}

function withQueue(stats: QueryStats | undefined, queueMs: number): QueryStats | undefined {
  if (stats !== undefined) stats.queueMs = queueMs;
  return stats;
}

async function run(id: number, slot: number, deadline: number, req: QueryRequest, enqueuedAt: number): Promise<void> {
  const canceled = (): boolean => Atomics.load(cancelFlags, slot) === 1;
  try {
    const queueMs = Math.max(0, preciseNow() - enqueuedAt);
    if (Date.now() >= deadline) throw timeoutError('query queue');
    if (canceled()) throw canceledError('query queue');
    send({ type: 'started', id });
    send({ type: 'ok', id, body: await answer(req, deadline, canceled, queueMs) });
  } catch (err) {
    const typed = promErrorType(err) !== null ? (err as FlowpilotError) : toQueryError(err, 'eval');
    send({ type: 'error', id, code: typed.code, message: errorMessage(typed) });
  }
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'batch') applyReplicaBatch(store, refs, m.batch);
  else void run(m.id, m.slot, m.deadline, m.req, m.enqueuedAt);
});
