/**
 * The fleet bench's Flink REST replay, read by the agent's own collector over the Service names a
 * fleet agent derives (`<name>-rest.<ns>.svc`, resolved to the replay by svc-dns.ts): one server
 * answers for several jobs by Host, each a recorded job under its own id and name, with counters
 * that move, and an in-place rescale changes the parallelism the next collection sees.
 */
import './svc-dns.ts';
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { FlinkRestCollector } from '../../agent/collect/flink-rest.ts';
import { FlinkReplayServer } from './replay-server.ts';

describe('the fleet bench Flink REST replay', () => {
  const replay = new FlinkReplayServer();
  const clients: FlinkRestClient[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    await replay.close();
  });

  function collector(host: string): { collector: FlinkRestCollector; client: FlinkRestClient } {
    const client = new FlinkRestClient({ baseUrl: `http://${host}:${replay.port}`, timeoutMs: 5000 });
    clients.push(client);
    return { client, collector: new FlinkRestCollector({ client, perSubtaskMetrics: false }) };
  }

  it('serves every recorded scenario as its own job, by Host, with counters that grow', async () => {
    await replay.listen();
    const names = FlinkReplayServer.scenarios();
    assert.ok(names.length >= 4, names.join(','));
    const jobs = names.map((s, i) => replay.addJob(`job-${i}-rest.team-${i % 2}.svc`, s, `job-${i}`));
    assert.equal(new Set(jobs.map((j) => j.jobId)).size, jobs.length, 'a fresh job id per job');
    for (const [i, j] of jobs.entries()) {
      const { collector: c } = collector(`job-${i}-rest.team-${i % 2}.svc`);
      const first = await c.collect(AbortSignal.timeout(10_000));
      assert.equal(first.observations.length, 1, `${j.scenario}: ${first.errors.join('; ')}`);
      const o1 = first.observations[0]!;
      assert.equal(o1.jobId, j.jobId);
      assert.equal(o1.jobName, `job-${i}`);
      const sum = (o: typeof o1): number => o.vertices.reduce((a, v) => a + v.recordsIn + v.recordsOut, 0);
      const before = sum(o1);
      const t0 = Date.now();
      while (Date.now() - t0 < 5000) {
        const o2 = (await c.collect(AbortSignal.timeout(10_000))).observations[0]!;
        if (sum(o2) > before) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const o2 = (await c.collect(AbortSignal.timeout(10_000))).observations[0]!;
      assert.ok(sum(o2) > before, `${j.scenario}: records grow (${before} -> ${sum(o2)})`);
      assert.ok(j.requests > 0);
    }
    assert.equal(replay.unknownHost, 0);
  });

  it('applies resource-requirements: the next collection sees the new parallelism and the totals keep growing', async () => {
    const j = replay.addJob('resize-rest.team-a.svc', 'kafka-1.15', 'resize');
    const { collector: c, client } = collector('resize-rest.team-a.svc');
    const o1 = (await c.collect(AbortSignal.timeout(10_000))).observations[0]!;
    const v = o1.vertices[0]!;
    const req = await client.resourceRequirements(j.jobId);
    req[v.id] = { parallelism: { lowerBound: 1, upperBound: v.parallelism + 2 } };
    await client.setResourceRequirements(j.jobId, req);
    const o2 = (await c.collect(AbortSignal.timeout(10_000))).observations[0]!;
    const v2 = o2.vertices.find((x) => x.id === v.id)!;
    assert.equal(v2.parallelism, v.parallelism + 2);
    assert.ok(v2.recordsIn >= v.recordsIn, `records in do not go back (${v.recordsIn} -> ${v2.recordsIn})`);
    assert.equal(j.rescales, 1);
  });

  it('serves its TaskManagers, their metrics and the subtasks of each vertex: a collection has no failed request', async () => {
    replay.addJob('tms-rest.team-a.svc', 'kafka-1.15', 'tms');
    const client = new FlinkRestClient({ baseUrl: `http://tms-rest.team-a.svc:${replay.port}`, timeoutMs: 5000 });
    clients.push(client);
    const r = await new FlinkRestCollector({ client }).collect(AbortSignal.timeout(10_000));
    assert.deepEqual(r.errors, []);
    const o = r.observations[0]!;
    assert.equal(o.taskManagers?.count, 2);
    assert.ok((o.taskManagers?.heapMaxBytes ?? 0) > 0, 'heap from the TaskManagers\' metrics');
    const heap = r.samples.filter((x) => x.name === 'flink_taskmanager_Status_JVM_Memory_Heap_Used');
    assert.equal(heap.length, 2);
    const slots = r.samples.find((x) => x.name === 'flink_jobmanager_taskSlotsTotal')?.value;
    const overview = (await (await fetch(`http://tms-rest.team-a.svc:${replay.port}/overview`)).json()) as { 'slots-total': number };
    assert.equal(slots, overview['slots-total'], '/overview agrees with /taskmanagers');
    const busy = r.samples.filter((x) => x.name === 'flink_taskmanager_job_task_busyTimeMsPerSecond');
    assert.ok(busy.length > 0 && busy.every((x) => x.labels.tm_id !== ''), 'per-subtask series carry their TaskManager');
  });

  it('answers 404 for a Service it does not replay', async () => {
    const res = await fetch(`http://nobody-rest.x.svc:${replay.port}/jobs/overview`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});
