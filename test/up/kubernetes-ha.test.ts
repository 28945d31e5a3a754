/**
 * A JobManager pod restart with `high-availability.type: kubernetes`, as the chart runs it
 * (engine mode: `--job NAME` at start, HA ConfigMaps, a storage volume), against the in-repo fake
 * Kubernetes API server: the restarted JobManager finds the job in the HA ConfigMaps, recovers
 * it under the same id from its latest checkpoint without submitting a second copy, the
 * TaskManager reconnects, and the committed output has nothing duplicated or lost. Cancelling
 * the job removes its HA data.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.ts';
import { checkCommittedPrefix } from '../../bench/chaos/prefix-check.ts';
import { tempDir, waitUntil } from '../e2e/support/e2e.ts';

const CLI = resolve(import.meta.dirname, '../../cli/main.ts');

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

function start(args: string[], env: Record<string, string>): Promise<Proc> {
  const child = fork(CLI, args, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, ...env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: 'error' } });
  return new Promise((res, rej) => {
    child.on('message', (m: Record<string, unknown>) => m.type === 'ready' && res({ child, ready: m }));
    child.once('exit', (c) => rej(new Error(`${args[1]} exited with ${c}`)));
  });
}

interface ConfigMap {
  metadata: { annotations?: Record<string, string> };
  data?: Record<string, string>;
}

describe('JobManager HA in Kubernetes ConfigMaps', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a restarted JobManager recovers the --job job (same id, latest checkpoint, no second copy) from the HA ConfigMaps; the TaskManager reconnects', { timeout: 120_000 }, async () => {
    const kube: FakeKube = await startFakeKube();
    cleanups.push(() => kube.close());
    const tmp = tempDir('fp-k8s-ha-');
    cleanups.push(() => tmp.remove());
    const out = join(tmp.dir, 'out');
    const env = { KUBECONFIG: kube.kubeconfigPath };
    const jmArgs = (rest: string, rpc: string, metrics: string) => [
      'engine', 'jobmanager', '--rest-port', rest, '--rpc-port', rpc, '--metrics-port', metrics, '--state-dir', join(tmp.dir, 'data'),
      '--job', 'counting', '--parallelism', '1', '--program-args', `--rate 300 --partitions 4 --keys 20 --checkpoint-interval 300 --output ${out}`,
      '-D', 'high-availability.type=kubernetes', '-D', `high-availability.storageDir=${join(tmp.dir, 'data', 'ha')}`,
      '-D', 'kubernetes.cluster-id=fp-test', '-D', `kubernetes.namespace=${kube.namespace}`, '-D', 'heartbeat.interval=500', '-D', 'heartbeat.timeout=4000',
    ];
    const procs: Proc[] = [];
    cleanups.push(() => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    });
    const jm1 = await start(jmArgs('0', '0', '0'), env);
    procs.push(jm1);
    const { restPort, rpcPort, metricsPort } = jm1.ready as { restPort: number; rpcPort: number; metricsPort: number };
    const tm = await start(['engine', 'taskmanager', '--jobmanager', `127.0.0.1:${rpcPort}`, '--slots', '1', '--metrics-port', '0', '--state-dir', join(tmp.dir, 'tm')], env);
    procs.push(tm);
    const rest = `http://127.0.0.1:${restPort}`;
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${rest}${path}`, { signal: AbortSignal.timeout(5000) })).json()) as T;
    const jobs = async () => (await get<{ jobs: Array<{ jid: string; state: string }> }>('/jobs/overview')).jobs;
    const latest = async (id: string) => (await get<{ latest?: { completed?: { id?: number } | null; restored?: { id?: number } | null } }>(`/jobs/${id}/checkpoints`)).latest;

    const jobId = await waitUntil('the --job job RUNNING', 40_000, async () => (await jobs()).find((j) => j.state === 'RUNNING')?.jid);
    await waitUntil('2 completed checkpoints', 40_000, async () => ((await latest(jobId))?.completed?.id ?? 0) >= 2);
    const cm = (name: string) => kube.server.getObject('configmaps', kube.namespace, name) as unknown as ConfigMap | undefined;
    assert.ok(cm('fp-test-cluster-config-map')?.data?.[`jobGraph-${jobId}`], 'the job graph pointer is in the cluster ConfigMap');
    const perJob = await waitUntil('the checkpoint pointer in the job ConfigMap', 10_000, () => {
      const keys = Object.keys(cm(`fp-test-${jobId}-config-map`)?.data ?? {});
      return keys.some((k) => k.startsWith('checkpointID-')) && keys.includes('counter') ? keys : null;
    });
    assert.equal(perJob.filter((k) => k.startsWith('checkpointID-')).length, 1, 'only the latest checkpoint is kept');
    const leader1 = JSON.parse(cm('fp-test-cluster-config-map')!.metadata.annotations!['control-plane.alpha.kubernetes.io/leader']!) as { holderIdentity: string };
    const before = (await latest(jobId))?.completed?.id ?? 0;

    // The pod restarts: same arguments, same volume, same Service ports.
    jm1.child.kill('SIGKILL');
    const killedAt = Date.now();
    const jm2 = await start(jmArgs(String(restPort), String(rpcPort), String(metricsPort)), env);
    procs.push(jm2);
    const restored = await waitUntil('the same job RUNNING again, restored', 60_000, async () => {
      const list = await jobs();
      const r = (await latest(jobId))?.restored;
      return list.length === 1 && list[0]!.jid === jobId && list[0]!.state === 'RUNNING' && r?.id !== undefined ? r.id : null;
    });
    const recoveryMs = Date.now() - killedAt;
    assert.ok(restored >= before, `restored from ${restored}, latest before the kill ${before}`);
    await waitUntil('a checkpoint by the recovered job (the TaskManager reconnected)', 60_000, async () => ((await latest(jobId))?.completed?.id ?? 0) > restored);
    assert.equal((await jobs()).length, 1, 'no second copy of the --job job');
    const leader2 = JSON.parse(cm('fp-test-cluster-config-map')!.metadata.annotations!['control-plane.alpha.kubernetes.io/leader']!) as { holderIdentity: string; leaderTransitions: number };
    assert.notEqual(leader2.holderIdentity, leader1.holderIdentity, 'the new JobManager holds the leadership');

    const check = checkCommittedPrefix(out, 4, 20);
    console.log(`# kubernetes HA JobManager restart: ${JSON.stringify({ recoveryMs, restoredFrom: restored, latestBeforeKill: before, committed: check.records, duplicated: check.duplicated, lost: check.lost })}`);
    assert.equal(check.duplicated, 0, check.problems.join('; '));

    // Cancelling is globally terminal: the HA data goes.
    await fetch(`${rest}/jobs/${jobId}`, { method: 'PATCH' });
    await waitUntil('the job HA data removed', 30_000, () => cm(`fp-test-${jobId}-config-map`) === undefined && !cm('fp-test-cluster-config-map')?.data?.[`jobGraph-${jobId}`]);
  });
});
