/**
 * REST conformance: every route the server registers is called against the realistic
 * in-memory backend, and every answer is validated against Flink's OpenAPI file
 * (../shared/flink/rest_v1_dispatcher.yml) with ajv, except where research/flink-api.md §1.4
 * says the wire differs; there the wire shape is asserted instead. Without ../shared the test
 * fails under CI=true and skips otherwise.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRestRouter } from '../../engine/rest/server.ts';
import { startHarness, type Answer, type Harness } from './support/harness.ts';
import { ORDERS_JOB, TM1, V_ENRICH, V_SOURCE, V_WINDOW } from './support/memory-backend.ts';
import { SPEC_PATH, formatErrors, loadSpec, toTemplate, type SpecValidators } from './support/openapi.ts';
import { collectFixtures } from './write-fixtures.ts';

const haveSpec = fs.existsSync(SPEC_PATH);
const skip = !haveSpec && process.env.CI !== 'true' ? `Flink spec not found at ${SPEC_PATH}` : false;

interface Check {
  method: string;
  pattern: string;
  /** Concrete path (with query), possibly computed from earlier answers. */
  path: string | ((s: State) => string);
  body?: unknown | ((s: State) => unknown);
  /** Where §1.4 says the wire differs: assert the wire instead of (or on top of) the spec. */
  wire?: (a: Answer, spec: SpecValidators) => void;
  /** Skip the spec's response schema (the wire differs; `wire` asserts the shape). */
  wireOnly?: boolean;
  /** Expected status when the spec's success status does not apply. */
  status?: number;
}

interface State {
  jarId: string;
  submittedJob: string;
  triggerId: string;
}

const J = `/jobs/${ORDERS_JOB}`;

function metricArray(a: Answer, spec: SpecValidators): void {
  assert.ok(Array.isArray(a.body), '§1.4.2: metric endpoints answer a bare array');
  const metric = spec.component('Metric');
  for (const m of a.body as unknown[]) assert.ok(metric(m), formatErrors(metric));
}

function aggregatedArray(a: Answer): void {
  assert.ok(Array.isArray(a.body), '§1.4.2: aggregated metric endpoints answer a bare array');
  assert.ok((a.body as unknown[]).length > 0);
  for (const m of a.body as Array<Record<string, unknown>>) {
    assert.equal(typeof m.id, 'string');
    for (const [k, v] of Object.entries(m)) if (k !== 'id') assert.equal(typeof v, 'number', `${k} is a double`);
  }
}

const CHECKS: Check[] = [
  { method: 'GET', pattern: '/config', path: '/config' },
  { method: 'GET', pattern: '/overview', path: '/overview' },
  { method: 'GET', pattern: '/jobs', path: '/jobs' },
  { method: 'GET', pattern: '/jobs/overview', path: '/jobs/overview' },
  { method: 'GET', pattern: '/jobs/metrics', path: '/jobs/metrics?get=numRestarts,uptime&agg=max,sum', wireOnly: true, wire: aggregatedArray },
  {
    method: 'GET', pattern: '/jobs/:jobid', path: J,
    wire: (a) => {
      const v = (a.body as { vertices: Array<Record<string, unknown>> }).vertices;
      for (const x of v) assert.match(String(x.slotSharingGroupId), /^[0-9a-f]{32}$/, '§1.4.5: slotSharingGroupId is 32-hex');
    },
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/config', path: `${J}/config`, wireOnly: true,
    wire: (a, spec) => {
      const b = a.body as Record<string, unknown>;
      assert.deepEqual(Object.keys(b), ['jid', 'name', 'execution-config'], '§1.4.1: jid, name, execution-config on the wire');
      const ec = spec.component('ExecutionConfigInfo');
      assert.ok(ec(b['execution-config']), formatErrors(ec));
    },
  },
  { method: 'GET', pattern: '/jobs/:jobid/plan', path: `${J}/plan` },
  { method: 'GET', pattern: '/jobs/:jobid/status', path: `${J}/status` },
  { method: 'GET', pattern: '/jobs/:jobid/exceptions', path: `${J}/exceptions?maxExceptions=5` },
  { method: 'GET', pattern: '/jobs/:jobid/metrics', path: `${J}/metrics?get=uptime,numRestarts`, wireOnly: true, wire: metricArray },
  {
    method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid', path: `${J}/vertices/${V_WINDOW}`,
    wire: (a) => {
      for (const s of (a.body as { subtasks: Array<Record<string, unknown>> }).subtasks) {
        assert.equal(s.start_time, s['start-time'], '§1.4.7: the hidden start_time duplicate is written');
      }
    },
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid/backpressure', path: `${J}/vertices/${V_ENRICH}/backpressure`,
    wire: (a) => {
      const b = a.body as Record<string, unknown> & { subtasks: Array<Record<string, unknown>> };
      assert.equal(b.backpressureLevel, b['backpressure-level'], '§1.4.4: both spellings');
      for (const s of b.subtasks) assert.equal(s.backpressureLevel, s['backpressure-level']);
    },
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid/watermarks', path: `${J}/vertices/${V_WINDOW}/watermarks`, wireOnly: true,
    wire: (a, spec) => {
      metricArray(a, spec);
      assert.deepEqual((a.body as Array<{ id: string }>).map((m) => m.id), ['0.currentInputWatermark', '1.currentInputWatermark', '2.currentInputWatermark', '3.currentInputWatermark']);
    },
  },
  { method: 'GET', pattern: '/jobs/:jobid/jobmanager/config', path: `${J}/jobmanager/config` },
  { method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid/metrics', path: `${J}/vertices/${V_SOURCE}/metrics`, wireOnly: true, wire: metricArray },
  {
    method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid/subtasks/metrics',
    path: `${J}/vertices/${V_ENRICH}/subtasks/metrics?get=busyTimeMsPerSecond,backPressuredTimeMsPerSecond&agg=min,max,avg,sum,skew&subtasks=0-2`,
    wireOnly: true, wire: aggregatedArray,
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics',
    path: `${J}/vertices/${V_SOURCE}/subtasks/1/metrics?get=Source__orders.pendingRecords`, wireOnly: true, wire: metricArray,
  },
  { method: 'GET', pattern: '/jobmanager/config', path: '/jobmanager/config' },
  { method: 'GET', pattern: '/jobmanager/metrics', path: '/jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable', wireOnly: true, wire: metricArray },
  { method: 'GET', pattern: '/taskmanagers', path: '/taskmanagers' },
  {
    method: 'GET', pattern: '/taskmanagers/metrics', path: '/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Used,Status.JVM.Memory.Heap.Max&agg=min,max,avg',
    wireOnly: true, wire: aggregatedArray,
  },
  { method: 'GET', pattern: '/taskmanagers/:taskmanagerid', path: `/taskmanagers/${TM1}` },
  { method: 'GET', pattern: '/taskmanagers/:taskmanagerid/metrics', path: `/taskmanagers/${TM1}/metrics`, wireOnly: true, wire: metricArray },
  {
    method: 'GET', pattern: '/jobs/:jobid/checkpoints', path: `${J}/checkpoints`,
    wire: (a, spec) => {
      const b = a.body as { history: Array<Record<string, unknown>>; latest: Record<string, unknown> };
      const byClass: Record<string, string> = { completed: 'CompletedCheckpointStatistics', failed: 'FailedCheckpointStatistics', in_progress: 'PendingCheckpointStatistics' };
      for (const c of b.history) {
        const v = spec.component(byClass[String(c.className)]!);
        assert.ok(v(c), formatErrors(v));
        assert.deepEqual(c.tasks, {}, 'tasks are empty on this endpoint');
      }
      assert.equal(b.latest.savepoint, null, '§1.4.8: latest entries are null when absent');
    },
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/checkpoints/config', path: `${J}/checkpoints/config`,
    wire: (a) => assert.equal((a.body as { mode: string }).mode, 'exactly_once', '§1.4.3: lower-case mode'),
  },
  {
    method: 'GET', pattern: '/jobs/:jobid/checkpoints/details/:checkpointid', path: `${J}/checkpoints/details/12`,
    wire: (a) => {
      const b = a.body as { className: string; tasks: Record<string, unknown> };
      assert.equal(b.className, 'completed');
      assert.ok(b.tasks[V_WINDOW], 'details carry per-vertex task statistics');
    },
  },
  { method: 'GET', pattern: '/jobs/:jobid/resource-requirements', path: `${J}/resource-requirements` },
  {
    method: 'PUT', pattern: '/jobs/:jobid/resource-requirements', path: `${J}/resource-requirements`,
    body: {
      [V_SOURCE]: { parallelism: { lowerBound: 1, upperBound: 2 } }, [V_ENRICH]: { parallelism: { lowerBound: 1, upperBound: 6 } },
      [V_WINDOW]: { parallelism: { lowerBound: 1, upperBound: 4 } }, ea632d67b7d595e5b851708ae9ad79d6: { parallelism: { lowerBound: 1, upperBound: 2 } },
    },
    wire: (a) => assert.deepEqual(a.body, {}),
  },
  // Commands, in order: upload → list → run → savepoint → status → stop → cancel → delete.
  { method: 'POST', pattern: '/jars/upload', path: '/jars/upload' },
  { method: 'GET', pattern: '/jars', path: '/jars' },
  {
    method: 'POST', pattern: '/jars/:jarid/run', path: (s) => `/jars/${s.jarId}/run?parallelism=3`,
    body: { programArgsList: ['--rate', '100'], allowNonRestoredState: false },
  },
  { method: 'POST', pattern: '/jobs/:jobid/savepoints', path: (s) => `/jobs/${s.submittedJob}/savepoints`, body: { 'target-directory': '/tmp/sp', 'cancel-job': false, formatType: 'CANONICAL' } },
  {
    method: 'GET', pattern: '/jobs/:jobid/savepoints/:triggerid', path: (s) => `/jobs/${s.submittedJob}/savepoints/${s.triggerId}`,
    wire: (a) => assert.deepEqual(a.body, { status: { id: 'IN_PROGRESS' }, operation: null }, '§1.4.10: operation is null while in progress'),
  },
  { method: 'POST', pattern: '/jobs/:jobid/stop', path: (s) => `/jobs/${s.submittedJob}/stop`, body: { targetDirectory: '/tmp/sp', drain: false } },
  { method: 'PATCH', pattern: '/jobs/:jobid', path: `${J}?mode=cancel`, wire: (a) => assert.deepEqual(a.body, {}) },
  { method: 'DELETE', pattern: '/jars/:jarid', path: (s) => `/jars/${s.jarId}` },
  {
    method: 'PATCH', pattern: '/jobs/:jobid/rescaling', path: `${J}/rescaling?parallelism=2`, status: 503, wireOnly: true,
    wire: (a) => assert.match((a.body as { errors: string[] }).errors[0]!, /Rescaling is temporarily disabled/),
  },
];

describe('REST conformance with Flink\'s OpenAPI file', { skip }, () => {
  let h: Harness;
  let spec: SpecValidators;
  const state: State = { jarId: '', submittedJob: '', triggerId: '' };

  before(async () => {
    assert.ok(haveSpec, `Flink spec missing at ${SPEC_PATH} (required under CI=true)`);
    spec = loadSpec();
    h = await startHarness();
  });
  after(async () => h?.stop());

  it('covers every registered route with a check, and every route exists in the spec', () => {
    const checked = new Set(CHECKS.map((c) => `${c.method} ${c.pattern}`));
    for (const r of createRestRouter().routes) {
      assert.ok(checked.has(`${r.method} ${r.pattern}`), `no conformance check for ${r.method} ${r.pattern}`);
      assert.ok(spec.paths[toTemplate(r.pattern)]?.[r.method.toLowerCase()], `${r.method} ${r.pattern} is not in Flink's spec`);
    }
  });

  it('answers every endpoint with the documented status and a body that matches the spec or the documented wire difference', async () => {
    const moduleFile = path.join(h.tmp, 'uploaded-job.ts');
    fs.writeFileSync(moduleFile, 'export default (args: string[]) => ({ name: `uploaded-${args.length}` });\n');
    for (const c of CHECKS) {
      const p = typeof c.path === 'function' ? c.path(state) : c.path;
      const label = `${c.method} ${p}`;
      const a = c.pattern === '/jars/upload'
        ? await h.upload('uploaded-job.ts', fs.readFileSync(moduleFile, 'utf8'))
        : await h.call(c.method, p, typeof c.body === 'function' ? c.body(state) : c.body);
      const expected = c.status ?? spec.successStatus(c.method, toTemplate(c.pattern));
      assert.equal(a.status, expected, `${label}: ${a.text}`);
      assert.match(a.headers.get('content-type') ?? '', /^application\/json/, label);
      if (!c.wireOnly) {
        const v = spec.responseValidator(c.method, toTemplate(c.pattern));
        if (v) assert.ok(v(a.body), `${label} does not match the spec:\n${formatErrors(v)}\n${a.text.slice(0, 2000)}`);
      }
      c.wire?.(a, spec);
      const b = a.body as Record<string, string>;
      if (c.pattern === '/jars/upload') state.jarId = path.basename(b.filename!);
      if (c.pattern === '/jars/:jarid/run') state.submittedJob = b.jobid!;
      if (c.pattern === '/jobs/:jobid/savepoints') state.triggerId = b['request-id']!;
    }
  });

  it('answers every fixture request (finished jobs, every vertex, savepoint states) with a body that matches the spec', async () => {
    const router = createRestRouter();
    const byPattern = new Map(CHECKS.map((c) => [`${c.method} ${c.pattern}`, c]));
    const fixtures = await collectFixtures();
    let validated = 0;
    for (const { entry, body } of fixtures) {
      if (entry.status >= 300) continue;
      const m = router.match(entry.method, new URL(entry.path, 'http://x').pathname);
      assert.ok(m, `${entry.method} ${entry.path} matches a route`);
      const check = byPattern.get(`${entry.method} ${m.route.pattern}`)!;
      const a: Answer = { status: entry.status, body, text: JSON.stringify(body), headers: new Headers() };
      if (!check.wireOnly) {
        const v = spec.responseValidator(entry.method, toTemplate(m.route.pattern));
        if (v) {
          assert.ok(v(body), `${entry.file} does not match the spec:\n${formatErrors(v)}`);
          validated++;
        }
      }
      if (entry.path === check.path || (check.wireOnly && Array.isArray(body) && body.length > 0)) check.wire?.(a, spec);
    }
    assert.ok(validated >= 25, `validated ${validated} fixture bodies`);
  });

  it('answers every route under the /v1 prefix exactly as without it', async () => {
    for (const c of CHECKS.filter((x) => x.method === 'GET' && typeof x.path === 'string' && !x.pattern.includes('savepoints'))) {
      const plain = await h.call('GET', c.path as string);
      const v1 = await h.call('GET', `/v1${c.path as string}`);
      assert.equal(v1.status, plain.status, c.path as string);
      assert.deepEqual(v1.body, plain.body, c.path as string);
    }
  });
});
