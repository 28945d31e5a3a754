/**
 * A local HTTP server that answers like Flink's REST API from the fixtures in
 * test/fixtures/flink-rest-agent/: static bodies by path, and the metric endpoints computed
 * from a metric store with Flink's semantics (list without `get`, string values, `agg=`
 * min/max/avg/sum/skew, `[]` when any requested id is missing somewhere, 404 `{"errors":[...]}`).
 * Tests change `rest` and `store` in place to move the cluster on.
 *
 * `loadRecordedScenario(name)` builds the same two parts from test/fixtures/flink-recorded/: real
 * Flink responses recorded in the Flink Kubernetes Operator's tests (each file names its source),
 * plus the metric values those tests build in code (scenarios.json, marked "synthesized").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type MetricMap = Record<string, string>;

export interface MetricStore {
  jobmanager: MetricMap;
  taskmanagers: Record<string, MetricMap>;
  jobs: Record<string, MetricMap>;
  subtasks: Record<string, Record<string, MetricMap[]>>;
}

export interface FlinkFixtureServer {
  url: string;
  rest: Record<string, unknown>;
  store: MetricStore;
  /** Paths requested, in order (without query). */
  requests: string[];
  /** The same requests with their query (`get=`, `agg=`), in order. */
  urls: string[];
  /** When false, /jobs/:id/vertices/:vid/metrics answers 404 (a REST server without the vertex store). */
  vertexStore: boolean;
  /** When set, every request answers this status. */
  failWith: number | null;
  close(): Promise<void>;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'flink-rest-agent');

export function loadFixtures(): { rest: Record<string, unknown>; store: MetricStore } {
  return {
    rest: JSON.parse(readFileSync(join(FIXTURES, 'rest.json'), 'utf8')) as Record<string, unknown>,
    store: JSON.parse(readFileSync(join(FIXTURES, 'metric-store.json'), 'utf8')) as MetricStore,
  };
}

export function listOrGet(maps: MetricMap[], query: URLSearchParams, aggregate: boolean): unknown {
  const get = query.get('get');
  if (get === null) {
    const ids = new Set<string>();
    for (const m of maps) for (const id of Object.keys(m)) ids.add(id);
    return [...ids].map((id) => ({ id }));
  }
  const ids = get.split(',').filter((s) => s.length > 0);
  if (!aggregate) {
    const m = maps[0] ?? {};
    return ids.filter((id) => m[id] !== undefined).map((id) => ({ id, value: m[id] }));
  }
  // Flink's quirk: if any requested id has no value in any component, the answer is [].
  for (const id of ids) for (const m of maps) if (m[id] === undefined) return [];
  const aggs = (query.get('agg') ?? 'min,max,avg,sum,skew').toLowerCase().split(',');
  return ids.map((id) => {
    const vs = maps.map((m) => Number(m[id]));
    const sum = vs.reduce((a, b) => a + b, 0);
    const all: Record<string, number> = { min: Math.min(...vs), max: Math.max(...vs), sum, avg: sum / vs.length, skew: 0 };
    const out: Record<string, unknown> = { id };
    // Jackson (Flink's REST mapper) writes non-finite doubles quoted: "NaN", "Infinity".
    for (const a of aggs) if (all[a] !== undefined) out[a] = Number.isFinite(all[a]) ? all[a] : String(all[a]);
    return out;
  });
}

const RECORDED = join(import.meta.dirname, '..', 'fixtures', 'flink-recorded');

interface RecordedFile {
  source: string;
  response?: unknown;
  ids?: string[];
}

interface RecordedScenario {
  describes: string;
  jobId: string;
  recorded: Record<string, string>;
  recordedMetricIds?: Record<string, string>;
  synthesized: { jobs: Record<string, MetricMap>; subtasks: Record<string, MetricMap[]> };
}

function readRecorded(file: string): RecordedFile {
  return JSON.parse(readFileSync(join(RECORDED, file), 'utf8')) as RecordedFile;
}

export function recordedScenarioNames(): string[] {
  return Object.keys((JSON.parse(readFileSync(join(RECORDED, 'scenarios.json'), 'utf8')) as { scenarios: Record<string, unknown> }).scenarios);
}

/** A cluster replaying recorded Flink payloads (see the module comment). */
export function loadRecordedScenario(name: string): { rest: Record<string, unknown>; store: MetricStore; scenario: RecordedScenario } {
  const all = (JSON.parse(readFileSync(join(RECORDED, 'scenarios.json'), 'utf8')) as { scenarios: Record<string, RecordedScenario> }).scenarios;
  const scenario = all[name];
  if (!scenario) throw new Error(`no recorded scenario ${name}`);
  const rest: Record<string, unknown> = {};
  for (const [path, file] of Object.entries(scenario.recorded)) rest[path] = readRecorded(file).response;
  const details = rest[`/jobs/${scenario.jobId}`] as { jid: string; name: string; state: string; 'start-time': number };
  // The overview lists the recorded job as its details describe it.
  rest['/jobs/overview'] = { jobs: [{ jid: details.jid, name: details.name, state: details.state, 'start-time': details['start-time'] }] };
  const subtasks: Record<string, MetricMap[]> = structuredClone(scenario.synthesized.subtasks);
  for (const [vertex, file] of Object.entries(scenario.recordedMetricIds ?? {})) {
    for (const prefixed of readRecorded(file).ids ?? []) {
      const m = /^(\d+)\.(.+)$/.exec(prefixed)!;
      const list = (subtasks[vertex] ??= []);
      (list[Number(m[1])] ??= {})[m[2]!] = '0';
    }
  }
  const store: MetricStore = { jobmanager: {}, taskmanagers: {}, jobs: structuredClone(scenario.synthesized.jobs), subtasks: { [scenario.jobId]: subtasks } };
  return { rest, store, scenario };
}

export async function startFlinkFixtureServer(fixtures: { rest: Record<string, unknown>; store: MetricStore } = loadFixtures()): Promise<FlinkFixtureServer> {
  const { rest, store } = fixtures;
  const state: FlinkFixtureServer = { url: '', rest, store, requests: [], urls: [], vertexStore: true, failWith: null, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname.replace(/^\/v1(?=\/)/, '');
    state.requests.push(path);
    state.urls.push(path + u.search);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    if (state.failWith !== null) return send(state.failWith, { errors: ['Internal server error.'] });
    const q = u.searchParams;
    let m: RegExpExecArray | null;
    if (path === '/jobmanager/metrics') return send(200, listOrGet([state.store.jobmanager], q, false));
    if (path === '/taskmanagers/metrics') return send(200, listOrGet(Object.values(state.store.taskmanagers), q, true));
    if ((m = /^\/taskmanagers\/([^/]+)\/metrics$/.exec(path))) {
      const tm = state.store.taskmanagers[decodeURIComponent(m[1]!)];
      return tm ? send(200, listOrGet([tm], q, false)) : send(404, { errors: ['TaskManager not found'] });
    }
    if ((m = /^\/jobs\/([0-9a-f]{32})\/metrics$/.exec(path))) return send(200, listOrGet([state.store.jobs[m[1]!] ?? {}], q, false));
    if ((m = /^\/jobs\/([0-9a-f]{32})\/vertices\/([0-9a-f]{32})\/subtasks\/metrics$/.exec(path))) {
      return send(200, listOrGet(state.store.subtasks[m[1]!]?.[m[2]!] ?? [], q, true));
    }
    if ((m = /^\/jobs\/([0-9a-f]{32})\/vertices\/([0-9a-f]{32})\/subtasks\/(\d+)\/metrics$/.exec(path))) {
      const sub = state.store.subtasks[m[1]!]?.[m[2]!]?.[Number(m[3])];
      return sub ? send(200, listOrGet([sub], q, false)) : send(404, { errors: ['Subtask not found'] });
    }
    if ((m = /^\/jobs\/([0-9a-f]{32})\/vertices\/([0-9a-f]{32})\/metrics$/.exec(path)) && state.vertexStore) {
      const prefixed: MetricMap = {};
      (state.store.subtasks[m[1]!]?.[m[2]!] ?? []).forEach((sub, i) => {
        for (const [id, v] of Object.entries(sub)) prefixed[`${i}.${id}`] = v;
      });
      return send(200, listOrGet([prefixed], q, false));
    }
    const body = state.rest[path];
    if (body === undefined) return send(404, { errors: [`Not found: ${u.pathname}`] });
    return send(200, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return state;
}
