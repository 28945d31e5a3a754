/**
 * Who writes checkpoint state: each TaskManager writes its subtasks' state files into the
 * checkpoint directory itself and acknowledges with a small handle; the JobManager only writes
 * `_metadata`. A failed state write declines the checkpoint and the job goes on, unless more
 * checkpoints fail in a row than execution.checkpointing.tolerable-failed-checkpoints allows.
 * Write failures are real: the TaskManagers run under a file-size limit (RLIMIT_FSIZE, which
 * binds root too), so writing a state file larger than it fails with EFBIG.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pack } from 'msgpackr';
import { silentLogger } from '../../common/log.ts';
import { parseJobManagerConfig, parseTaskManagerConfig } from '../../engine/config/options.ts';
import { JobManager } from '../../engine/jobmanager/job-manager.ts';
import { TaskManager } from '../../engine/taskmanager/task-manager.ts';
import type { AcknowledgeCheckpointMessage } from '../../engine/rpc/messages.ts';
import { TestCluster, type ProcInfo } from './support/cluster.ts';

const CLI = resolve(import.meta.dirname, '../../cli/main.ts');
const STATE_JOB = resolve(import.meta.dirname, '../../bench/rescale/jobs/state-job.ts');
/** 4000 keys × 1 KiB: about 2 MB of keyed state per subtask at parallelism 2. */
function jobArgs(tsDir: string, interval: number): string[] {
  mkdirSync(tsDir, { recursive: true });
  return ['--keys', '4000', '--value-bytes', '1024', '--build-rate', '100000', '--build-seconds', '1', '--tick-rate', '200', '--partitions', '2', '--checkpoint-interval', String(interval), '--ts-dir', tsDir];
}

/** True when any value inside `v` is a byte array. */
function carriesBytes(v: unknown): boolean {
  if (v instanceof Uint8Array) return true;
  if (Array.isArray(v)) return v.some(carriesBytes);
  if (v && typeof v === 'object') return Object.values(v).some(carriesBytes);
  return false;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('TaskManagers write their own checkpoint state', () => {
  it('has the state file on disk at its full size when the small acknowledgement arrives, before _metadata exists', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-tm-writes-'));
    const log = silentLogger();
    const jm = new JobManager({
      config: parseJobManagerConfig({ 'rest.port': '0', 'jobmanager.rpc.port': '0', 'metrics.reporter.prom.port': '0', 'state.dir': join(dir, 'jm'), 'jobmanager.rpc.address': '127.0.0.1', 'metrics.reporter.prom.host': '127.0.0.1' }),
      log,
    });
    await jm.start();
    const tms: TaskManager[] = [];
    t.after(async () => {
      for (const tm of tms) await tm.stop();
      await jm.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    for (let i = 0; i < 2; i++) {
      const tm = new TaskManager({
        config: parseTaskManagerConfig({
          'jobmanager.address': `127.0.0.1:${jm.rpcPort}`, 'taskmanager.numberOfTaskSlots': '1', 'metrics.reporter.prom.port': '0', 'taskmanager.data.port': '0',
          'taskmanager.host': '127.0.0.1', 'metrics.reporter.prom.host': '127.0.0.1', 'taskmanager.state.dir': join(dir, `tm${i}`),
        }),
        log,
      });
      await tm.start();
      tms.push(tm);
    }
    await until(() => tms.every((tm) => tm.isRegistered), 10_000, 'TaskManagers to register');
    await assert.rejects(
      jm.submit({ modulePath: STATE_JOB, programArgs: jobArgs(join(dir, 'ts'), 300), parallelism: 2, configuration: { 'execution.checkpointing.dir': join(tmpdir(), 'fp-outside-roots', 'chk') } }),
      (err: { code?: string }) => err.code === 'FP_SAVEPOINT_PATH',
      'a job checkpoint directory outside the allowed roots is refused',
    );
    // The job names its own checkpoint directory (under the cluster's allowed roots), as shared storage would be.
    const shared = join(dir, 'jm', 'shared-checkpoints');
    const job = await jm.submit({ modulePath: STATE_JOB, programArgs: jobArgs(join(dir, 'ts'), 300), parallelism: 2, configuration: { 'execution.checkpointing.dir': `file://${shared}` } });
    const seen: Array<{ ack: AcknowledgeCheckpointMessage; wireBytes: number; fileSize: number | null; metadataThere: boolean }> = [];
    const received = job.onCheckpointAck.bind(job);
    job.onCheckpointAck = (ack) => {
      // What the JobManager holds at the moment an acknowledgement arrives, before it handles it.
      const chk = join(shared, job.jobId, `chk-${ack.checkpointId}`);
      const file = ack.handle?.file ? join(chk, ack.handle.file) : null;
      seen.push({ ack, wireBytes: pack(ack).length, fileSize: file && existsSync(file) ? statSync(file).size : null, metadataThere: existsSync(join(chk, '_metadata')) });
      received(ack);
    };
    await until(() => job.checkpoints.counts.completed >= 2, 20_000, 'two completed checkpoints').catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify({ status: job.status, counts: job.checkpoints.counts, failed: job.checkpoints.latestFailed?.failureMessage, exceptions: job.exceptions.map((e) => e.stacktrace.slice(0, 300)), acks: seen.length })}`);
    });
    const big = seen.filter((s) => s.ack.handle && s.ack.handle.size > 1_000_000);
    assert.ok(big.length >= 2, `acknowledgements of subtasks with about 2 MB of state: ${JSON.stringify(seen.map((s) => s.ack.handle?.size))}`);
    for (const s of big) {
      assert.equal(s.fileSize, s.ack.handle!.size, 'the TaskManager wrote the whole file before acknowledging');
      assert.equal(s.metadataThere, false, '_metadata comes only after every acknowledgement');
      assert.equal(carriesBytes(s.ack), false, 'no state bytes travel in the acknowledgement');
      assert.ok(s.wireBytes < 64 * 1024, `the acknowledgement is small: ${s.wireBytes} bytes on the wire for ${s.ack.handle!.size} bytes of state`);
      assert.equal('snapshot' in s.ack, false);
    }
    const latest = job.checkpoints.latest!;
    assert.equal(latest.path, join(shared, job.jobId, `chk-${latest.id}`));
    assert.ok(existsSync(join(latest.path, '_metadata')));
    for (const f of latest.loaded.metadata.files) {
      // State below state.storage.fs.memory-threshold (the sources' offsets) is inside _metadata, not a file.
      if (f.inline !== undefined) assert.equal(existsSync(join(latest.path, f.name)), false, `${f.name} is inline, not a file`);
      else assert.ok(existsSync(join(latest.path, f.name)), `${f.name} is in ${latest.path}`);
    }
    assert.ok(latest.loaded.metadata.files.some((f) => f.inline === undefined && f.size > 1_000_000), 'the large state is in files');
  });
});

interface CheckpointStats {
  counts: { completed: number; failed: number };
  latest: { failed: { id: number; failure_message: string | null } | null };
  history: Array<{ id: number; status: string }>;
}

describe('failed state writes on a TaskManager', () => {
  let cluster: TestCluster;

  /** A TaskManager process under a 512 KiB file-size limit: its ~2 MB state files cannot be written. */
  function limitedTaskManager(i: number): Promise<ProcInfo> {
    const args = ['engine', 'taskmanager', '--jobmanager', cluster.rpcAddress, '--slots', '2', '--state-dir', join(cluster.dir, `limited-tm${i}`)];
    const child = spawn('bash', ['-c', 'ulimit -f 512 && exec "$@"', 'bash', process.execPath, CLI, ...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: 'error' },
      cwd: cluster.dir,
    });
    const stderr: string[] = [];
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    return new Promise<ProcInfo>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`limited TaskManager not ready: ${stderr.join('')}`)), 15_000);
      child.on('message', (m: Record<string, unknown>) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        ok({ child, stderr, ready: m });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`limited TaskManager exited with ${code}: ${stderr.join('')}`));
      });
    });
  }

  before(async () => {
    cluster = await new TestCluster({ taskManagers: 0, jmDefine: [`jobmanager.job-dirs=${resolve(import.meta.dirname, '../../bench/rescale/jobs')}`] }).start();
    cluster.tms.push(await limitedTaskManager(0));
    await cluster.waitFor(async () => (await cluster.rest<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers.length === 1, 10_000, 'the limited TaskManager');
  });
  after(() => cluster.stop());

  const numRestarts = async (jobId: string) =>
    Number((await cluster.rest<Array<{ id: string; value: string }>>(`/jobs/${jobId}/metrics?get=numRestarts`)).find((m) => m.id === 'numRestarts')?.value);

  it('declines the checkpoint, removes its directory and keeps the job running without a restart', async () => {
    const jobId = await cluster.submit(STATE_JOB, jobArgs(join(cluster.dir, 'ts1'), 300), 2);
    await cluster.waitFor(async () => (await cluster.rest<CheckpointStats>(`/jobs/${jobId}/checkpoints`)).counts.failed >= 3, 20_000, 'three failed checkpoints');
    const stats = await cluster.rest<CheckpointStats>(`/jobs/${jobId}/checkpoints`);
    assert.match(stats.latest.failed?.failure_message ?? '', /declined the checkpoint: could not write the state file: .*(EFBIG|too large)/i);
    assert.equal(await cluster.jobStatus(jobId), 'RUNNING');
    assert.equal(await numRestarts(jobId), 0, 'failed checkpoints alone do not restart the job when no limit is set');
    const jobDir = join(cluster.dir, 'jm', 'checkpoints', jobId);
    for (const h of stats.history.filter((x) => x.status === 'FAILED')) {
      await cluster.waitFor(() => !existsSync(join(jobDir, `chk-${h.id}`)), 5000, `the directory of failed checkpoint ${h.id} to be removed`);
    }
    await cluster.rest(`/jobs/${jobId}`, { method: 'PATCH' });
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'CANCELED', 10_000, 'the job to cancel');
  });

  it('fails the job over when more checkpoints fail in a row than execution.checkpointing.tolerable-failed-checkpoints', async () => {
    const jobId = await cluster.submitWith(STATE_JOB, jobArgs(join(cluster.dir, 'ts2'), 300), {
      parallelism: 2,
      flinkConfiguration: { 'execution.checkpointing.tolerable-failed-checkpoints': '1', 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': '100', 'restart-strategy.fixed-delay.delay': '100' },
    });
    await cluster.waitFor(async () => (await numRestarts(jobId)) >= 1, 20_000, 'a restart after two failed checkpoints in a row');
    const exceptions = await cluster.rest<{ exceptionHistory: { entries: Array<{ stacktrace: string }> } }>(`/jobs/${jobId}/exceptions`);
    assert.ok(exceptions.exceptionHistory.entries.some((e) => /Exceeded checkpoint tolerable failure threshold/.test(e.stacktrace)), JSON.stringify(exceptions).slice(0, 500));
    const config = await cluster.rest<{ tolerable_failed_checkpoints: number }>(`/jobs/${jobId}/checkpoints/config`);
    assert.equal(config.tolerable_failed_checkpoints, 1);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'RUNNING', 10_000, 'the job to run again after the restart');
    await cluster.rest(`/jobs/${jobId}`, { method: 'PATCH' });
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'CANCELED', 10_000, 'the job to cancel');
  });
});
