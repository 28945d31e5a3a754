/**
 * Dumps the REST server's answers for the realistic in-memory backend into
 * test/fixtures/flink-rest/: one file per answer holding exactly the body Flink's REST API would
 * send, plus index.json naming, for each file, the request (method, path, body) and the status.
 * The agent side uses these as Flink-format fixtures. Deterministic: fixed clock, TZ=UTC, fixed
 * ids. Run: `node test/engine-rest/write-fixtures.ts [outDir]`. fixtures.test.ts checks that the
 * committed files are what this script writes.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHarness } from './support/harness.ts';
import { ORDERS_JOB, TM1, V_ENRICH, V_SINK, V_SOURCE, V_WINDOW, WORDCOUNT_JOB } from './support/memory-backend.ts';

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/flink-rest');

export interface FixtureEntry {
  file: string;
  method: string;
  path: string;
  requestBody?: unknown;
  status: number;
  note?: string;
}

const J = `/jobs/${ORDERS_JOB}`;
const TRIGGER = `00000001${'5'.repeat(24)}`;
const BUSY = 'busyTimeMsPerSecond,backPressuredTimeMsPerSecond,idleTimeMsPerSecond,numRecordsInPerSecond,numRecordsOutPerSecond';

const REQUESTS: Array<Omit<FixtureEntry, 'status'>> = [
  { file: 'config.json', method: 'GET', path: '/config' },
  { file: 'overview.json', method: 'GET', path: '/overview' },
  { file: 'jobs.json', method: 'GET', path: '/jobs' },
  { file: 'jobs-overview.json', method: 'GET', path: '/jobs/overview' },
  { file: 'job-details.json', method: 'GET', path: J, note: 'running order-enrichment job, 4 vertices, adaptive scheduler' },
  { file: 'job-details-finished.json', method: 'GET', path: `/jobs/${WORDCOUNT_JOB}`, note: 'finished job, no metrics' },
  { file: 'job-config.json', method: 'GET', path: `${J}/config` },
  { file: 'job-exceptions.json', method: 'GET', path: `${J}/exceptions?maxExceptions=10` },
  { file: 'job-metrics-list.json', method: 'GET', path: `${J}/metrics` },
  { file: 'job-metrics.json', method: 'GET', path: `${J}/metrics?get=uptime,numRestarts,lastCheckpointDuration` },
  ...[['source', V_SOURCE], ['enrich', V_ENRICH], ['window', V_WINDOW], ['sink', V_SINK]].flatMap(([name, v]) => [
    { file: `vertex-${name}.json`, method: 'GET', path: `${J}/vertices/${v}` },
    { file: `vertex-${name}-backpressure.json`, method: 'GET', path: `${J}/vertices/${v}/backpressure` },
    { file: `vertex-${name}-subtasks-metrics.json`, method: 'GET', path: `${J}/vertices/${v}/subtasks/metrics?get=${BUSY}` },
  ]),
  { file: 'vertex-window-watermarks.json', method: 'GET', path: `${J}/vertices/${V_WINDOW}/watermarks` },
  { file: 'vertex-source-subtasks-metrics-list.json', method: 'GET', path: `${J}/vertices/${V_SOURCE}/subtasks/metrics`, note: 'ids only (no get=)' },
  { file: 'vertex-source-pending-records.json', method: 'GET', path: `${J}/vertices/${V_SOURCE}/subtasks/metrics?get=Source__orders.pendingRecords&agg=sum,max` },
  { file: 'vertex-source-metrics.json', method: 'GET', path: `${J}/vertices/${V_SOURCE}/metrics?get=0.numRecordsOutPerSecond,1.numRecordsOutPerSecond,0.Source__orders.pendingRecords` },
  { file: 'vertex-enrich-subtask-1-metrics.json', method: 'GET', path: `${J}/vertices/${V_ENRICH}/subtasks/1/metrics?get=busyTimeMsPerSecond,isBackPressured` },
  { file: 'vertex-enrich-subtasks-metrics-missing.json', method: 'GET', path: `${J}/vertices/${V_ENRICH}/subtasks/metrics?get=busyTimeMsPerSecond,pendingRecords`, note: "Flink's quirk: one missing id empties the answer" },
  { file: 'taskmanagers.json', method: 'GET', path: '/taskmanagers' },
  { file: 'taskmanager-details.json', method: 'GET', path: `/taskmanagers/${TM1}` },
  { file: 'taskmanager-metrics.json', method: 'GET', path: `/taskmanagers/${TM1}/metrics?get=Status.JVM.Memory.Heap.Used,Status.JVM.CPU.Load` },
  { file: 'taskmanagers-metrics.json', method: 'GET', path: '/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max,Status.JVM.Memory.Heap.Used,Status.Flink.Memory.Managed.Used,Status.JVM.Memory.Metaspace.Used,Status.JVM.GarbageCollector.All.TimeMsPerSecond&agg=min,max,avg' },
  { file: 'jobmanager-metrics.json', method: 'GET', path: '/jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable,numRegisteredTaskManagers' },
  { file: 'jobmanager-config.json', method: 'GET', path: '/jobmanager/config' },
  { file: 'checkpoints.json', method: 'GET', path: `${J}/checkpoints` },
  { file: 'checkpoints-config.json', method: 'GET', path: `${J}/checkpoints/config` },
  { file: 'checkpoint-details-12.json', method: 'GET', path: `${J}/checkpoints/details/12` },
  { file: 'resource-requirements.json', method: 'GET', path: `${J}/resource-requirements` },
  { file: 'savepoint-trigger.json', method: 'POST', path: `${J}/savepoints`, requestBody: { 'target-directory': '/data/savepoints', 'cancel-job': false } },
  // The in-memory backend numbers triggers; a savepoint reports IN_PROGRESS on the first poll, COMPLETED after.
  { file: 'savepoint-status-in-progress.json', method: 'GET', path: `${J}/savepoints/${TRIGGER}` },
  { file: 'savepoint-status-completed.json', method: 'GET', path: `${J}/savepoints/${TRIGGER}` },
  { file: 'stop-trigger.json', method: 'POST', path: `${J}/stop`, requestBody: { targetDirectory: '/data/savepoints', drain: false } },
  { file: 'resource-requirements-put.json', method: 'PUT', path: `${J}/resource-requirements`, requestBody: Object.fromEntries([V_SOURCE, V_ENRICH, V_WINDOW, V_SINK].map((v) => [v, { parallelism: { lowerBound: 1, upperBound: v === V_ENRICH ? 6 : 2 } }])) },
  { file: 'cancel.json', method: 'PATCH', path: `${J}?mode=cancel` },
  { file: 'error-route-not-found.json', method: 'GET', path: '/no/such/route' },
  { file: 'error-job-not-found.json', method: 'GET', path: `/jobs/${'f'.repeat(32)}` },
  { file: 'error-vertex-not-found.json', method: 'GET', path: `${J}/vertices/${'f'.repeat(32)}` },
  { file: 'error-bad-job-id.json', method: 'GET', path: '/jobs/not-a-job' },
  { file: 'error-checkpointing-disabled.json', method: 'GET', path: `/jobs/${WORDCOUNT_JOB}/checkpoints` },
  { file: 'error-cancel-finished-job.json', method: 'PATCH', path: `/jobs/${WORDCOUNT_JOB}` },
];

/** Runs every request against a fresh server and returns the answers in order. */
export async function collectFixtures(): Promise<Array<{ entry: FixtureEntry; body: unknown }>> {
  process.env.TZ = 'UTC';
  const h = await startHarness();
  try {
    const out: Array<{ entry: FixtureEntry; body: unknown }> = [];
    for (const req of REQUESTS) {
      const a = await h.call(req.method, req.path, req.requestBody);
      out.push({ entry: { ...req, status: a.status }, body: a.body ?? null });
    }
    return out;
  } finally {
    await h.stop();
  }
}

export function render(body: unknown): string {
  return `${JSON.stringify(body, null, 2)}\n`;
}

export async function writeFixtures(dir: string): Promise<number> {
  const all = await collectFixtures();
  await fs.mkdir(dir, { recursive: true });
  for (const { entry, body } of all) await fs.writeFile(path.join(dir, entry.file), render(body));
  await fs.writeFile(path.join(dir, 'index.json'), render(all.map((x) => x.entry)));
  return all.length;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ? path.resolve(process.argv[2]) : FIXTURE_DIR;
  const n = await writeFixtures(dir);
  console.log(`wrote ${n} Flink REST fixtures and index.json to ${dir}`);
}
