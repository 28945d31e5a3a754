import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { silentLogger } from '../../common/log.ts';
import { AgentProcess } from '../../agent/process/agent.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { startFlinkFixtureServer } from './flink-fixture-server.ts';
import { waitFor } from '../support/processes.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the default rule pack on REST-collected data', () => {
  it('loads rules/*.yml and evaluates every rule healthily over samples from the Flink REST collector', async (t) => {
    const flink = await startFlinkFixtureServer();
    t.after(() => flink.close());
    const config = parseAgentConfig({
      listen: { port: 0 },
      flink: { urls: [flink.url] },
      scrape: { interval: '200ms' },
      rules: { files: [join(ROOT, 'rules', '*.yml')], evaluationInterval: '1s', watch: false },
    });
    const agent = new AgentProcess({ config, logger: silentLogger(), version: 'test' });
    t.after(() => agent.stop());
    await agent.start();
    const groups = agent.rules!.groups();
    assert.ok(groups.length > 0, 'the rule pack has groups');
    await waitFor('one collection', () => agent.scrapes.targets()[0]?.health === 'up', 30_000, 50);
    // A collection whose task-metric requests did not answer in time (a loaded machine) still counts
    // as up: wait for the task metrics the recording rules read, not just for a collection.
    await waitFor('task metrics collected', async () => {
      const r = await agent.engine.instantQuery('flink_taskmanager_job_task_busyTimeMsPerSecond', Date.now());
      return (r.data.result as unknown[]).length > 0;
    }, 30_000, 50);
    const now = Date.now();
    for (const g of groups) await agent.rules!.evaluateGroup(g, now);
    const unhealthy = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`));
    assert.deepEqual(unhealthy, []);
    // The recording rules the dashboards and the autoscaler read produce series from REST data.
    const res = await agent.engine.instantQuery('job_task:flink_taskmanager_job_task_busyTimeMsPerSecond:max', now);
    assert.equal(res.data.resultType, 'vector');
    assert.ok((res.data.result as unknown[]).length > 0, 'busy-time recording rule has output');
  });
});
