/**
 * The Flink-REST actuators against real engine processes (a JobManager and TaskManagers started
 * through the CLI): in-place rescale through resource requirements, savepoint redeploy, rollback
 * when the new parallelism cannot run, crash-resume after the stop and after an unjournaled
 * submit (never two copies), a periodic savepoint with retention, and disaster recovery of a
 * job that disappeared. Skips, with the reason printed, while the JobManager does not yet
 * serve Flink's REST API.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEngineCluster, uploadJobModule, servesFlinkRest, type EngineCluster } from './support/engine-cluster.ts';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { TERMINAL_JOB_STATES } from '../../agent/flink/rest-types.ts';
import { Actuator } from '../../agent/actuate/actuator.ts';
import { DEFAULT_TIMING, defaultSleep, type ActuatorContext } from '../../agent/actuate/context.ts';
import { IntentJournal, type IntentRecord } from '../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../agent/actuate/journal/file-store.ts';
import { PeriodicSavepoints } from '../../agent/actuate/periodic-savepoints.ts';
import { DisasterRecovery } from '../../agent/actuate/disaster-recovery.ts';
import { submitFromSavepoint } from '../../agent/actuate/savepoint.ts';
import type { JobSubmission, RescaleRequest } from '../../agent/actuate/types.ts';
import { silentLogger } from '../../common/log.ts';

const JOB_MODULE = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');
const NAME = 'actuation-counting';

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(what: string, timeoutMs: number, fn: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

describe('Flink-REST actuation against the engine', () => {
  let cluster: EngineCluster | undefined;
  let skipReason: string | undefined;
  let flink: FlinkRestClient;
  let submission: JobSubmission;
  let jobId: string;
  const missing: Record<'requirements' | 'savepoints' | 'checkpoints' | 'restore', string | undefined> = { requirements: undefined, savepoints: undefined, checkpoints: undefined, restore: undefined };
  const lacks = (...features: Array<keyof typeof missing>): string | undefined =>
    skipReason ?? features.map((f) => missing[f]).find((m) => m !== undefined);

  const parallelism = async (id: string): Promise<Record<string, number>> => {
    const j = await flink.job(id);
    return Object.fromEntries((j?.vertices ?? []).map((v) => [v.id, v.parallelism]));
  };
  const context = (journalDir: string, timing: Partial<typeof DEFAULT_TIMING> = {}): ActuatorContext => ({
    journal: new IntentJournal(new FileJournalStore(journalDir)), flink, submission: () => submission,
    timing: { ...DEFAULT_TIMING, pollIntervalMs: 200, verifyTimeoutMs: 30_000, savepointTimeoutMs: 30_000, ...timing },
    clock: Date.now, sleep: defaultSleep, log: silentLogger(),
  });
  const live = async (): Promise<string[]> => (await flink.liveJobsNamed(NAME)).map((j) => j.jid);
  const running = async (id: string): Promise<boolean> => (await flink.job(id))?.state === 'RUNNING';

  before(async () => {
    cluster = await startEngineCluster({ taskManagers: 1, slots: 8, define: ['jobmanager.scheduler=adaptive', 'restart-strategy.type=none', 'heartbeat.timeout=2000'] });
    if (!(await servesFlinkRest(cluster.restUrl))) {
      skipReason = 'the engine JobManager does not serve Flink\'s REST API yet (GET /overview is not Flink\'s)';
      return;
    }
    flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
    const jarId = await uploadJobModule(cluster.restUrl, JOB_MODULE);
    const out = join(cluster.dir, 'out');
    mkdirSync(out, { recursive: true });
    submission = {
      jarId, savepointDirectory: join(cluster.dir, 'savepoints'),
      programArgsList: ['--output', out, '--rate', '200', '--name', NAME, '--checkpoint-interval', '500'],
    };
    jobId = await flink.runJar(jarId, { programArgsList: submission.programArgsList!, parallelism: 2 });
    await waitFor('the job to run', 30_000, () => running(jobId));
    // Feature probes: each test below runs as soon as the engine implements what it needs.
    try {
      await flink.resourceRequirements(jobId);
    } catch (err) {
      missing.requirements = `the engine does not serve GET /jobs/:id/resource-requirements yet (${(err as Error).message.split('\n')[0]!.slice(0, 160)})`;
    }
    const probe = await fetch(`${cluster.restUrl}/jobs/${jobId}/savepoints`, { method: 'POST', body: JSON.stringify({ 'target-directory': join(cluster.dir, 'probe-savepoints'), triggerId: `${'0'.repeat(31)}1` }), headers: { 'content-type': 'application/json' } });
    if (probe.status === 400 && /not supported/i.test(await probe.text())) missing.savepoints = 'the engine does not support savepoints / stop-with-savepoint yet (400 "not supported by this cluster")';
    if ((await fetch(`${cluster.restUrl}/jobs/${jobId}/checkpoints`)).status !== 200) missing.checkpoints = 'the engine does not report checkpoint statistics yet (GET /jobs/:id/checkpoints is not 200)';
    try {
      const probeJob = await flink.runJar(jarId, { programArgsList: ['--output', join(cluster.dir, 'probe-out'), '--name', 'restore-probe'], parallelism: 1, savepointPath: join(cluster.dir, 'no-such-savepoint') });
      await flink.cancel(probeJob);
    } catch (err) {
      if (/not supported/i.test((err as Error).message)) missing.restore = `the engine cannot start a job from a savepoint/checkpoint path yet (${(err as Error).message.slice(-90)})`;
    }
  });
  after(async () => {
    await cluster?.stop();
  });

  it('leaves the job unchanged when the cluster refuses an in-place rescale', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 100_000])); // above maxParallelism: always refused
    const r = await new Actuator({ context: context(join(cluster!.dir, 'j-refused')) })
      .execute({ jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'in-place' });
    assert.equal(r.outcome, 'rejected', r.message);
    assert.equal(r.errorCode, 'FP_FLINK_REST');
    assert.deepEqual(r.steps, ['intent', 'failed']);
    assert.equal(await running(jobId), true);
    assert.deepEqual(await parallelism(jobId), current);
  });

  it('leaves the job running and untouched when the savepoint cannot be taken', async (t) => {
    if (skipReason) return t.skip(skipReason);
    // A job of its own: a stop that never completes must not hang over the other tests' job.
    const name = 'actuation-spfail';
    const out = join(cluster!.dir, 'out-spfail');
    mkdirSync(out, { recursive: true });
    const id = await flink.runJar(submission.jarId, { programArgsList: ['--output', out, '--rate', '50', '--name', name, '--checkpoint-interval', '500'], parallelism: 1 });
    try {
      await waitFor('the job to run', 30_000, () => running(id));
      const current = await parallelism(id);
      const target = Object.fromEntries(Object.keys(current).map((v) => [v, 2]));
      const ctx = context(join(cluster!.dir, 'j-spfail'), { savepointTimeoutMs: 3000 });
      ctx.submission = () => ({ ...submission, savepointDirectory: '/proc/flowpilot-cannot-write-here' });
      const r = await new Actuator({ context: ctx }).execute({ jobId: id, jobName: name, current, target, reasons: ['test'], mode: 'savepoint' });
      // Flink fails such a savepoint (rejected); the engine keeps it IN_PROGRESS, so the action stays in flight.
      assert.ok(r.outcome === 'rejected' || r.outcome === 'timed-out', `${r.outcome}: ${r.message}`);
      if (r.outcome === 'timed-out') {
        t.diagnostic('the engine keeps a savepoint to an unwritable directory IN_PROGRESS; the action stays in flight');
        assert.deepEqual(r.steps, ['intent', 'savepoint-triggered'], 'nothing beyond the trigger happened');
      }
      assert.equal(r.jobId, id);
      assert.equal(await running(id), true, 'the job keeps running');
      assert.deepEqual((await flink.liveJobsNamed(name)).map((j) => j.jid), [id], 'and nothing else was started');
      assert.deepEqual(await parallelism(id), current);
    } finally {
      await flink.cancel(id);
    }
  });

  it('rescales in place through resource requirements and sees the new parallelism running', async (t) => {
    const why = lacks('requirements');
    if (why) return t.skip(why);
    const current = await parallelism(jobId);
    const keyed = Object.keys(current).find((v) => v !== Object.keys(current)[0]) ?? Object.keys(current)[0]!;
    const req: RescaleRequest = { jobId, jobName: NAME, current, target: { [keyed]: 4 }, reasons: ['test'], mode: 'in-place' };
    const r = await new Actuator({ context: context(join(cluster!.dir, 'j-inplace')) }).execute(req);
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.equal((await parallelism(jobId))[keyed], 4);
  });

  it('redeploys through a savepoint at the new parallelism and the job restores from it', async (t) => {
    const why = lacks('savepoints', 'restore');
    if (why) return t.skip(why);
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 3]));
    const r = await new Actuator({ context: context(join(cluster!.dir, 'j-sp')) })
      .execute({ jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    assert.equal(r.outcome, 'succeeded', r.message);
    assert.deepEqual(r.steps, ['intent', 'savepoint-triggered', 'stopped', 'submitted', 'verified']);
    assert.notEqual(r.jobId, jobId);
    assert.deepEqual(await live(), [r.jobId], 'exactly one live copy');
    assert.deepEqual(await parallelism(r.jobId), target);
    jobId = r.jobId;
  });

  it('rolls back to the old parallelism from the same savepoint when the new one cannot run', async (t) => {
    const why = lacks('savepoints', 'restore');
    if (why) return t.skip(why);
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 64])); // far beyond 8 slots
    const r = await new Actuator({ context: context(join(cluster!.dir, 'j-rb'), { verifyTimeoutMs: 5000 }) })
      .execute({ jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    assert.equal(r.outcome, 'rolled-back', r.message);
    assert.ok(r.steps.includes('rolling-back') && r.steps.at(-1) === 'rolled-back');
    assert.deepEqual(await live(), [r.jobId]);
    assert.deepEqual(await parallelism(r.jobId), current);
    jobId = r.jobId;
  });

  it('rolls back from where the new job got to, not the rescale savepoint, once the new job completed checkpoints', async (t) => {
    const why = lacks('savepoints', 'restore', 'checkpoints');
    if (why) return t.skip(why);
    const dir = join(cluster!.dir, 'j-rb-progress');
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 3]));
    // The agent got as far as a running new job that checkpointed, then gave it up (as when its
    // verification times out): journal 'rolling-back' with that job, then resume.
    const ctx = context(dir);
    let h = await ctx.journal.begin(NAME, { jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    const triggerId = 'cd'.repeat(16);
    h = await ctx.journal.annotate(h, { triggerId, jobName: NAME });
    await flink.stopWithSavepoint(jobId, submission.savepointDirectory, triggerId);
    const op = await waitFor('the rescale savepoint', 30_000, async () => {
      const s = await flink.savepointStatus(jobId, triggerId);
      return s?.status === 'COMPLETED' ? s : null;
    });
    await waitFor('the old job to stop', 30_000, async () => TERMINAL_JOB_STATES.has((await flink.job(jobId))?.state ?? 'FINISHED'));
    h = await ctx.journal.advance(h, 'stopped', { savepointLocation: op.location });
    const newJobId = await submitFromSavepoint(flink, submission, op.location, target);
    h = await ctx.journal.advance(h, 'submitted', { newJobId });
    await waitFor('the new job to complete a checkpoint', 30_000, async () => (await flink.checkpointPaths(newJobId)).latestCompleted);
    await ctx.journal.advance(h, 'rolling-back', {}, 'test: verification gave up');
    const [r] = await new Actuator({ context: context(dir) }).resumeAll();
    assert.equal(r!.outcome, 'rolled-back', r!.message);
    const record = (await ctx.journal.store.read<IntentRecord>(`action.${NAME}`))!.value;
    const from = record.data.rollbackLocation as string;
    assert.ok(from && from !== op.location, `rolled back from ${from}, not the rescale savepoint ${op.location}`);
    assert.equal((await flink.checkpointPaths(newJobId)).latestSavepoint, from, 'the new job was stopped with that savepoint');
    assert.equal((await flink.job(newJobId))?.state, 'FINISHED');
    assert.equal((await flink.checkpointPaths(r!.jobId)).restored, from);
    assert.deepEqual(await live(), [r!.jobId]);
    assert.deepEqual(await parallelism(r!.jobId), current);
    jobId = r!.jobId;
  });

  it('finishes a savepoint redeploy after a crash right after the stop, without a second copy', async (t) => {
    const why = lacks('savepoints', 'restore');
    if (why) return t.skip(why);
    const dir = join(cluster!.dir, 'j-crash1');
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 2]));
    const crashed = context(dir);
    let h = await crashed.journal.begin(NAME, { jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    h = await crashed.journal.annotate(h, { triggerId: 'ab'.repeat(16), jobName: NAME });
    await flink.stopWithSavepoint(jobId, submission.savepointDirectory, 'ab'.repeat(16));
    await crashed.journal.advance(h, 'savepoint-triggered', { triggerId: 'ab'.repeat(16) });
    // crash here: the stop is in progress or done, nothing was resubmitted
    const [r] = await new Actuator({ context: context(dir) }).resumeAll();
    assert.equal(r!.outcome, 'succeeded', r!.message);
    assert.equal(r!.resumed, true);
    assert.deepEqual(await live(), [r!.jobId]);
    jobId = r!.jobId;
  });

  it('adopts a job submitted just before a crash instead of submitting it twice', async (t) => {
    const why = lacks('savepoints', 'restore');
    if (why) return t.skip(why);
    const dir = join(cluster!.dir, 'j-crash2');
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 3]));
    const crashed = context(dir);
    let h = await crashed.journal.begin(NAME, { jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    h = await crashed.journal.annotate(h, { triggerId: 'cd'.repeat(16), jobName: NAME });
    await flink.stopWithSavepoint(jobId, submission.savepointDirectory, 'cd'.repeat(16));
    const st = await waitFor('the savepoint', 30_000, async () => {
      const s = await flink.savepointStatus(jobId, 'cd'.repeat(16));
      return s && s.status !== 'IN_PROGRESS' ? s : null;
    });
    assert.equal(st.status, 'COMPLETED');
    const location = (st as { location: string }).location;
    h = await crashed.journal.advance(h, 'savepoint-triggered');
    await waitFor('the old job to end', 30_000, async () => TERMINAL_JOB_STATES.has((await flink.job(jobId))?.state ?? 'FINISHED'));
    h = await crashed.journal.advance(h, 'stopped', { savepointLocation: location });
    const submitted = await submitFromSavepoint(flink, submission, location, target); // submitted, journal not yet written
    const [r] = await new Actuator({ context: context(dir) }).resumeAll();
    assert.equal(r!.outcome, 'succeeded', r!.message);
    assert.equal(r!.jobId, submitted, 'the already-submitted job was adopted');
    assert.deepEqual(await live(), [submitted], 'never two copies');
    jobId = submitted;
  });

  it('verifies a redeploy whose resubmit was journaled just before a crash, without submitting again', async (t) => {
    const why = lacks('savepoints', 'restore');
    if (why) return t.skip(why);
    const dir = join(cluster!.dir, 'j-crash3');
    const current = await parallelism(jobId);
    const target = Object.fromEntries(Object.keys(current).map((v) => [v, 2]));
    const crashed = context(dir);
    const trigger = 'ef'.repeat(16);
    let h = await crashed.journal.begin(NAME, { jobId, jobName: NAME, current, target, reasons: ['test'], mode: 'savepoint' });
    h = await crashed.journal.annotate(h, { triggerId: trigger, jobName: NAME });
    await flink.stopWithSavepoint(jobId, submission.savepointDirectory, trigger);
    h = await crashed.journal.advance(h, 'savepoint-triggered');
    const st = await waitFor('the savepoint', 30_000, async () => {
      const x = await flink.savepointStatus(jobId, trigger);
      return x && x.status !== 'IN_PROGRESS' ? x : null;
    });
    const location = (st as { location: string }).location;
    await waitFor('the old job to end', 30_000, async () => TERMINAL_JOB_STATES.has((await flink.job(jobId))?.state ?? 'FINISHED'));
    h = await crashed.journal.advance(h, 'stopped', { savepointLocation: location });
    const submitted = await submitFromSavepoint(flink, submission, location, target);
    await crashed.journal.advance(h, 'submitted', { newJobId: submitted });
    // crash here: submitted and journaled, not yet verified
    const runsBefore = (await flink.jobsOverview()).length;
    const [r] = await new Actuator({ context: context(dir) }).resumeAll();
    assert.equal(r!.outcome, 'succeeded', r!.message);
    assert.deepEqual(r!.steps, ['intent', 'savepoint-triggered', 'stopped', 'submitted', 'verified']);
    assert.equal(r!.jobId, submitted);
    assert.equal((await flink.jobsOverview()).length, runsBefore, 'no job was submitted on resume');
    assert.deepEqual(await live(), [submitted]);
    jobId = submitted;
  });

  it('takes a periodic savepoint and keeps only the newest N, deleting older local ones', async (t) => {
    const why = lacks('savepoints');
    if (why) return t.skip(why);
    const journal = new IntentJournal(new FileJournalStore(join(cluster!.dir, 'j-periodic')));
    const ps = new PeriodicSavepoints({
      flink, journal, schedule: '0 0 * * * *', targetDirectory: submission.savepointDirectory, retain: 1, jobNames: [NAME],
      timeoutMs: 30_000, pollIntervalMs: 200, log: silentLogger(), sleep: delay,
    });
    const [first] = await ps.runOnce();
    assert.equal(first!.outcome, 'completed', first!.message);
    const [second] = await ps.runOnce();
    assert.equal(second!.outcome, 'completed', second!.message);
    assert.deepEqual(second!.deleted, [first!.location]);
    assert.equal(existsSync(first!.location!.replace(/^file:(\/\/)?/, '')), false);
    assert.equal(existsSync(second!.location!.replace(/^file:(\/\/)?/, '')), true);
    assert.equal(await running(jobId), true, 'a periodic savepoint leaves the job running');
  });

  it('brings a FAILED job back from its latest completed checkpoint, once, and leaves a CANCELED one alone', async (t) => {
    const why = lacks('checkpoints', 'restore');
    if (why) return t.skip(why);
    const journal = new IntentJournal(new FileJournalStore(join(cluster!.dir, 'j-dr')));
    const alerts: string[] = [];
    const dr = new DisasterRecovery({
      flink, journal, submission: () => submission, maxAttempts: 3, backoffMs: 100, maxBackoffMs: 1000,
      log: silentLogger(), alert: (_k, sev, msg) => alerts.push(`${sev}: ${msg}`),
    });
    const checkpoint = await waitFor('a completed checkpoint', 30_000, async () => (await flink.checkpointPaths(jobId)).latestCompleted);
    assert.equal(await dr.check(NAME), 'healthy');
    const failedId = jobId;
    cluster!.taskManagers[0]!.kill('SIGKILL'); // restart-strategy none: the job fails
    await waitFor('the job to fail', 30_000, async () => (await flink.job(failedId))?.state === 'FAILED');
    // The job kept checkpointing between the read above and the kill (more of them on a loaded
    // machine): the one to recover from is the latest completed when it failed.
    const latest = (await flink.checkpointPaths(failedId)).latestCompleted;
    assert.ok(latest, 'the failed job still reports its latest completed checkpoint');
    const seq = (p: string): number => Number(/chk-(\d+)$/.exec(p)?.[1] ?? NaN);
    assert.ok(seq(latest) >= seq(checkpoint), `latest ${latest} is not older than ${checkpoint}`);
    await cluster!.addTaskManager(8);
    const state = await dr.check(NAME);
    const doc = await journal.store.read<{ history: unknown[] }>('recovery.' + NAME);
    assert.equal(state, 'submitted', JSON.stringify(doc?.value.history));
    const [newId] = await waitFor('a live copy', 30_000, async () => ((await live()).length === 1 ? live() : null));
    assert.notEqual(newId, failedId);
    assert.ok(['recovering', 'healthy'].includes(await dr.check(NAME)), 'a second check while it comes up does not submit again');
    assert.deepEqual(await live(), [newId]);
    await waitFor('the recovered job to run', 30_000, () => running(newId!));
    assert.equal(await dr.check(NAME), 'healthy');
    assert.deepEqual(await live(), [newId], 'exactly one copy');
    const restored = (await flink.checkpointPaths(newId!)).restored;
    assert.ok(restored === null || restored.length > 0);
    assert.ok(alerts.some((a) => a.includes('FAILED') && a.includes(latest.replace(/.*\//, '') + ' ')), alerts.join('\n'));
    jobId = newId!;
    await flink.cancel(jobId);
    await waitFor('cancel', 30_000, async () => (await flink.job(jobId))?.state === 'CANCELED');
    assert.equal(await dr.check(NAME), 'left-alone', 'a CANCELED job is someone\'s decision');
  });

  it('after the TaskManagers die: never resubmits without state, and gives up after bounded, backed-off attempts', async (t) => {
    if (skipReason) return t.skip(skipReason);
    const alive = cluster!.taskManagers.filter((p) => p.exitCode === null && p.signalCode === null);
    if (alive.length === 0) await cluster!.addTaskManager(8);
    const start = async (name: string, interval: number): Promise<string> => {
      const out = join(cluster!.dir, `out-${name}`);
      mkdirSync(out, { recursive: true });
      const id = await flink.runJar(submission.jarId, { programArgsList: ['--output', out, '--rate', '50', '--name', name, '--checkpoint-interval', String(interval)], parallelism: 1 });
      await waitFor(`${name} to run`, 30_000, () => running(id));
      return id;
    };
    const noState = await start('actuation-nostate', 3_600_000);
    const withState = missing.checkpoints ? undefined : await start('actuation-badjar', 300);
    if (withState) await waitFor('a completed checkpoint', 30_000, async () => (await flink.checkpointPaths(withState)).latestCompleted);
    const journal = new IntentJournal(new FileJournalStore(join(cluster!.dir, 'j-dr-down')));
    const alerts: string[] = [];
    const dr = new DisasterRecovery({
      flink, journal, submission: () => ({ ...submission, jarId: 'no-such-module.ts' }), maxAttempts: 2, backoffMs: 50, maxBackoffMs: 100,
      log: silentLogger(), alert: (k, sev, msg) => alerts.push(`${k} ${sev}: ${msg}`),
    });
    assert.equal(await dr.check('actuation-nostate'), 'healthy');
    if (withState) assert.equal(await dr.check('actuation-badjar'), 'healthy');
    for (const p of cluster!.taskManagers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await waitFor('the jobs to fail', 30_000, async () => (await flink.job(noState))?.state === 'FAILED' && (!withState || (await flink.job(withState))?.state === 'FAILED'));

    assert.equal(await dr.check('actuation-nostate'), 'gave-up');
    assert.equal((await flink.liveJobsNamed('actuation-nostate')).length, 0, 'nothing was submitted');
    assert.ok(alerts.some((a) => a.startsWith('actuation-nostate critical:') && a.includes('no completed checkpoint or savepoint')), alerts.join('\n'));
    assert.equal(await dr.check('actuation-nostate'), 'gave-up', 'and it stays given up');
    if (!withState) return t.diagnostic('the bounded-attempts half needs checkpoint statistics from the engine');

    const states: string[] = [];
    for (let i = 0; i < 40 && states.at(-1) !== 'gave-up'; i++) {
      states.push(await dr.check('actuation-badjar'));
      await delay(40);
    }
    assert.equal(states.at(-1), 'gave-up', states.join(','));
    assert.ok(states.includes('backing-off'), 'it waited between attempts');
    const doc = (await journal.store.read<{ attempts: number; history: Array<{ note: string }> }>('recovery.actuation-badjar'))!.value;
    assert.equal(doc.attempts, 2, 'exactly maxAttempts attempts');
    assert.equal(doc.history.filter((h) => h.note.startsWith('submit failed')).length, 2);
    assert.equal((await flink.liveJobsNamed('actuation-badjar')).length, 0);
    assert.ok(alerts.some((a) => a.startsWith('actuation-badjar critical:') && a.includes('gave up after 2 attempts')), alerts.join('\n'));
  });
});
