/**
 * The agent reads the operator's job.autoscaler.* keys from the FlinkDeployment it is configured
 * for (through the real client against the fake API server) and runs with the policy file on top.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKubeWithClients } from '../support/fake-kube/with-clients.ts';
import { operatorPolicy } from '../../agent/process/operator-policy.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { silentLogger } from '../../common/log.ts';

describe('the agent\'s policy on a FlinkDeployment', () => {
  it('is the policy file over the FlinkDeployment\'s job.autoscaler.* keys', async (t) => {
    const { kube, clients } = await startFakeKubeWithClients();
    const dir = mkdtempSync(join(tmpdir(), 'fp-oppolicy-'));
    t.after(async () => {
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    });
    kube.server.putObject('flinkdeployments.flink.apache.org', 'flink', {
      metadata: { name: 'orders' },
      spec: {
        flinkVersion: 'v1_20', job: { jarURI: 'local:///opt/job.jar', parallelism: 2, upgradeMode: 'savepoint' },
        flinkConfiguration: {
          'taskmanager.numberOfTaskSlots': '2',
          'job.autoscaler.utilization.target': '0.65',
          'job.autoscaler.restart.time': '3 min',
          'job.autoscaler.catch-up.duration': '20 min',
          'job.autoscaler.vertex.max-parallelism': '24',
        },
      },
    });
    const policyFile = join(dir, 'policy.yml');
    writeFileSync(policyFile, 'catchUp: 4m\ncooldown: 15m\n');
    const config = parseAgentConfig({
      scaling: { policyFile },
      actuation: { mode: 'flink-deployment', kubernetes: { enabled: true, connection: 'file', kubeconfig: kube.kubeconfigPath }, defaults: { flinkDeployment: { name: 'orders' } } },
    }, 'test');
    const p = await operatorPolicy(config, clients, silentLogger());
    assert.equal(p.utilization.target, 0.65);
    assert.equal(p.utilization.max, 0.95);
    assert.equal(p.utilization.min, 0.35);
    assert.equal(p.restart.prior, 180);
    assert.equal(p.limits.maxParallelism, 24);
    assert.equal(p.catchUp, '4m', 'the policy file wins');
    assert.equal(p.cooldown, '15m');
  });
});
