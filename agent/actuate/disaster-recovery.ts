/**
 * Disaster recovery: when a watched job (by name) ends FAILED, or disappears from the cluster,
 * resubmit it from its latest completed checkpoint — or else the latest savepoint we know —
 * at the parallelism it last ran at. Attempts are bounded and spaced by exponential backoff;
 * after the last one the job is marked "gave-up" and an alert is raised. Each step is written
 * to the journal (`recovery.<jobKey>`) before it is taken, and before every submit the agent
 * checks /jobs/overview for a live job of that name, so a crash between submit and journal
 * write, or a second agent, never produces two copies. A job that FINISHED or was CANCELED is
 * left alone (someone meant it), and so is a job with a rescale action in flight.
 */
import type { Logger } from '../../common/log.ts';
import { describeError } from './context.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import { TERMINAL_JOB_STATES, type JobOverview } from '../flink/rest-types.ts';
import type { IntentJournal } from './journal/intent.ts';
import { updateDocument } from './journal/store.ts';
import type { RecoveryMetrics } from './metrics.ts';
import { latestSavepoint } from './periodic-savepoints.ts';
import { submitFromSavepoint } from './savepoint.ts';
import type { JobSubmission } from './types.ts';

export type RecoveryState = 'healthy' | 'recovering' | 'backing-off' | 'submitted' | 'gave-up' | 'left-alone' | 'duplicate';

export interface RecoveryDocument {
  step: 'watching' | 'detected' | 'submitted' | 'gave-up';
  attempts: number;
  nextAttemptAt: number;
  lastJobId?: string;
  lastCheckpoint?: string;
  lastParallelism?: Record<string, number>;
  restorePath?: string;
  newJobId?: string;
  history: Array<{ at: number; step: string; note: string }>;
}

export interface RecoveryOptions {
  flink: FlinkRestClient;
  journal: IntentJournal;
  submission: (jobKey: string) => JobSubmission | undefined;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  clock?: () => number;
  log: Logger;
  metrics?: RecoveryMetrics;
  /** Raised on every recovery step worth a page (detected, gave up, duplicates). */
  alert?: (jobKey: string, severity: 'warning' | 'critical', message: string) => void;
}

export function recoveryKey(jobKey: string): string {
  return `recovery.${jobKey}`;
}

export function backoffFor(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

const EMPTY: RecoveryDocument = { step: 'watching', attempts: 0, nextAttemptAt: 0, history: [] };

export class DisasterRecovery {
  private readonly o: RecoveryOptions;

  constructor(o: RecoveryOptions) {
    this.o = o;
  }

  private now(): number {
    return (this.o.clock ?? Date.now)();
  }

  private async update(jobKey: string, fn: (d: RecoveryDocument) => RecoveryDocument, note?: string): Promise<RecoveryDocument> {
    return updateDocument<RecoveryDocument>(this.o.journal.store, recoveryKey(jobKey), (cur) => {
      const d = fn(cur ?? EMPTY);
      return note === undefined ? d : { ...d, history: [...d.history, { at: this.now(), step: d.step, note }].slice(-30) };
    });
  }

  /** One check of one job; call it every collection interval for each watched job. */
  async check(jobKey: string): Promise<RecoveryState> {
    const f = this.o.flink;
    const mine = (await f.jobsOverview()).filter((j) => j.name === jobKey).sort((a, b) => (b['start-time'] ?? 0) - (a['start-time'] ?? 0));
    const live = mine.filter((j) => !TERMINAL_JOB_STATES.has(j.state));
    const doc = (await this.o.journal.store.read<RecoveryDocument>(recoveryKey(jobKey)))?.value ?? EMPTY;
    if (live.length > 1) {
      this.o.alert?.(jobKey, 'critical', `${live.length} live copies of job ${jobKey}: ${live.map((j) => j.jid).join(', ')}`);
      return 'duplicate';
    }
    if (live.length === 1) return this.watch(jobKey, live[0]!, doc);
    const action = await this.o.journal.get(jobKey);
    if (action && !action.record.finished) return 'left-alone';
    const latest = mine[0];
    if (latest && latest.state !== 'FAILED') return 'left-alone';
    return this.recover(jobKey, latest, doc);
  }

  private async watch(jobKey: string, job: JobOverview, doc: RecoveryDocument): Promise<RecoveryState> {
    if (job.state !== 'RUNNING') return doc.step === 'submitted' ? 'recovering' : 'healthy';
    const paths = await this.o.flink.checkpointPaths(job.jid);
    const details = await this.o.flink.job(job.jid);
    const parallelism = details ? Object.fromEntries(details.vertices.map((v) => [v.id, v.parallelism])) : doc.lastParallelism;
    const recovered = doc.step === 'submitted';
    if (recovered) {
      this.o.metrics?.attempts.inc({ job: jobKey, outcome: 'recovered' });
      this.o.metrics?.gaveUp.set({ job: jobKey }, 0);
      this.o.alert?.(jobKey, 'warning', `job ${jobKey} recovered as ${job.jid} from ${doc.restorePath}`);
    }
    await this.update(jobKey, (d) => ({
      ...d, step: 'watching', attempts: 0, nextAttemptAt: 0, lastJobId: job.jid,
      ...(paths.latestCompleted ? { lastCheckpoint: paths.latestCompleted } : {}),
      ...(parallelism ? { lastParallelism: parallelism } : {}),
    }), recovered ? `running again as ${job.jid}` : undefined);
    return 'healthy';
  }

  private async recover(jobKey: string, failed: JobOverview | undefined, doc0: RecoveryDocument): Promise<RecoveryState> {
    const o = this.o;
    let doc = doc0;
    if (doc.step === 'gave-up') return 'gave-up';
    if (doc.step === 'submitted' && doc.newJobId) {
      o.metrics?.attempts.inc({ job: jobKey, outcome: 'failed' });
      doc = await this.update(jobKey, (d) => ({ ...d, step: 'detected' }), `attempt ${doc.attempts} (${doc.newJobId}) failed too`);
    }
    if (doc.attempts >= o.maxAttempts) {
      await this.update(jobKey, (d) => ({ ...d, step: 'gave-up' }), `gave up after ${doc.attempts} attempts`);
      o.metrics?.gaveUp.set({ job: jobKey }, 1);
      o.alert?.(jobKey, 'critical', `recovery of job ${jobKey} gave up after ${doc.attempts} attempts; last restore path ${doc.restorePath ?? 'none'}`);
      return 'gave-up';
    }
    if (this.now() < doc.nextAttemptAt) return 'backing-off';
    const sub = o.submission(jobKey);
    if (!sub) {
      o.alert?.(jobKey, 'critical', `job ${jobKey} is ${failed ? 'FAILED' : 'gone'} but no submission (jar) is configured to bring it back`);
      return 'gave-up';
    }
    const failedId = failed?.jid ?? doc.lastJobId;
    const fromFailed = failedId ? await o.flink.checkpointPaths(failedId) : null;
    const restorePath = fromFailed?.latestCompleted ?? doc.lastCheckpoint ?? (await latestSavepoint(o.journal, jobKey)) ?? fromFailed?.latestSavepoint ?? null;
    const details = failedId ? await o.flink.job(failedId) : null;
    const parallelism = details ? Object.fromEntries(details.vertices.map((v) => [v.id, v.parallelism])) : doc.lastParallelism;
    if (!restorePath || !parallelism) {
      await this.update(jobKey, (d) => ({ ...d, step: 'gave-up' }), 'no checkpoint or savepoint to restore from');
      o.alert?.(jobKey, 'critical', `job ${jobKey} is ${failed ? 'FAILED' : 'gone'} and there is no completed checkpoint or savepoint to restore it from; not resubmitting without state`);
      return 'gave-up';
    }
    const attempt = doc.attempts + 1;
    await this.update(jobKey, (d) => ({
      ...d, step: 'detected', attempts: attempt, restorePath, lastParallelism: parallelism,
      nextAttemptAt: this.now() + backoffFor(attempt, o.backoffMs, o.maxBackoffMs),
    }), `job ${failedId ?? '?'} ${failed ? 'FAILED' : 'disappeared'}; attempt ${attempt} from ${restorePath}`);
    o.alert?.(jobKey, 'warning', `job ${jobKey} ${failed ? 'FAILED' : 'disappeared'}; resubmitting from ${restorePath} (attempt ${attempt}/${o.maxAttempts})`);
    if ((await o.flink.liveJobsNamed(jobKey)).length > 0) return 'recovering';
    try {
      const newJobId = await submitFromSavepoint(o.flink, sub, restorePath, parallelism);
      await this.update(jobKey, (d) => ({ ...d, step: 'submitted', newJobId }), `submitted ${newJobId}`);
      return 'submitted';
    } catch (err) {
      o.metrics?.attempts.inc({ job: jobKey, outcome: 'failed' });
      await this.update(jobKey, (d) => ({ ...d, step: 'detected' }), `submit failed: ${describeError(err)}`);
      o.log.warn({ err, jobKey, attempt }, 'recovery submit failed');
      return 'backing-off';
    }
  }
}
