/**
 * Periodic savepoints (the operator's `kubernetes.operator.periodic.savepoint.interval`, on a
 * cron schedule here): for every RUNNING job, trigger a savepoint that leaves the job running,
 * wait for it, record its location in the journal (`savepoints.<jobKey>`), and keep only the
 * newest N. Older ones are deleted only when they are local `file:` paths under the configured
 * directory; remote ones (s3:, hdfs:, ...) are only dropped from the list. The trigger id is
 * journaled before the trigger, so a crash mid-savepoint is picked up by the next run instead
 * of starting a second one. A job with a rescale in flight is skipped.
 */
import { rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CronJob, validateCronExpression } from 'cron';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import type { IntentJournal } from './journal/intent.ts';
import { updateDocument } from './journal/store.ts';
import type { PeriodicSavepointMetrics } from './metrics.ts';

export interface SavepointEntry {
  location: string;
  at: number;
  jobId: string;
}

export interface SavepointDocument {
  savepoints: SavepointEntry[];
  deleted: Array<{ location: string; at: number; removedFiles: boolean }>;
  inFlight?: { jobId: string; triggerId: string; at: number };
}

export interface PeriodicSavepointOptions {
  flink: FlinkRestClient;
  journal: IntentJournal;
  /** Cron expression (5 or 6 fields), e.g. "0 *\/30 * * * *" for every 30 minutes. */
  schedule: string;
  targetDirectory: string;
  retain: number;
  /** Only these job names; all RUNNING jobs when absent. */
  jobNames?: string[];
  timeoutMs: number;
  pollIntervalMs: number;
  metrics?: PeriodicSavepointMetrics;
  log: Logger;
  clock?: () => number;
  sleep: (ms: number) => Promise<void>;
}

export type PeriodicOutcome = { jobKey: string; outcome: 'completed' | 'failed' | 'skipped'; location?: string; deleted: string[]; message?: string };

export function savepointKey(jobKey: string): string {
  return `savepoints.${jobKey}`;
}

/** The local directory of a `file:` (or bare absolute) path inside `root`, or null when it is not safe to delete. */
export function localPathUnder(location: string, root: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('file:')) return null;
  const path = resolve(location.replace(/^file:(\/\/)?/, '').replace(/^\/+/, '/'));
  const base = resolve(root.replace(/^file:(\/\/)?/, '').replace(/^\/+/, '/'));
  return path.startsWith(base + sep) ? path : null;
}

export class PeriodicSavepoints {
  private readonly o: PeriodicSavepointOptions;
  private job: CronJob | undefined;
  private running = false;

  constructor(o: PeriodicSavepointOptions) {
    const v = validateCronExpression(o.schedule);
    if (!v.valid) throw new FlowpilotError('FP_CONFIG_INVALID', `periodic savepoint schedule "${o.schedule}" is not a cron expression: ${String(v.error ?? '')}`);
    if (!Number.isInteger(o.retain) || o.retain < 1) throw new FlowpilotError('FP_CONFIG_INVALID', `periodic savepoint retention must be an integer ≥ 1 (got ${o.retain})`);
    this.o = o;
  }

  start(): void {
    this.job = CronJob.from({
      cronTime: this.o.schedule, start: true, waitForCompletion: true,
      onTick: async () => {
        if (this.running) return;
        this.running = true;
        try {
          await this.runOnce();
        } catch (err) {
          this.o.log.error({ err }, 'periodic savepoint run failed');
        } finally {
          this.running = false;
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.job?.stop();
  }

  /** One pass over all selected jobs. */
  async runOnce(): Promise<PeriodicOutcome[]> {
    const jobs = (await this.o.flink.jobsOverview()).filter((j) => j.state === 'RUNNING' && (!this.o.jobNames || this.o.jobNames.includes(j.name)));
    const out: PeriodicOutcome[] = [];
    for (const j of jobs) out.push(await this.savepointJob(j.jid, j.name));
    return out;
  }

  private async savepointJob(jobId: string, jobKey: string): Promise<PeriodicOutcome> {
    const o = this.o;
    const store = o.journal.store;
    const action = await o.journal.get(jobKey);
    if (action && !action.record.finished) {
      o.metrics?.total.inc({ job: jobKey, outcome: 'skipped' });
      return { jobKey, outcome: 'skipped', deleted: [], message: `a ${action.record.mode} action is in flight` };
    }
    const started = (o.clock ?? Date.now)();
    const doc = await updateDocument<SavepointDocument>(store, savepointKey(jobKey), (cur) => {
      const d = cur ?? { savepoints: [], deleted: [] };
      if (d.inFlight && d.inFlight.jobId === jobId) return d;
      return { ...d, inFlight: { jobId, triggerId: randomBytes(16).toString('hex'), at: started } };
    });
    const { triggerId } = doc.inFlight!;
    let result: { location?: string; failure?: string };
    try {
      if ((await o.flink.savepointStatus(jobId, triggerId)) === null) await o.flink.triggerSavepoint(jobId, o.targetDirectory, triggerId);
      result = await this.await(jobId, triggerId);
    } catch (err) {
      result = { failure: errorMessage(err) };
    }
    const deleted: string[] = [];
    const next = await updateDocument<SavepointDocument>(store, savepointKey(jobKey), (cur) => {
      const d: SavepointDocument = { ...(cur ?? { savepoints: [], deleted: [] }) };
      delete d.inFlight;
      if (result.location) d.savepoints = [...d.savepoints, { location: result.location, at: (o.clock ?? Date.now)(), jobId }];
      return d;
    });
    if (!result.location) {
      o.metrics?.total.inc({ job: jobKey, outcome: 'failed' });
      o.log.warn({ jobKey, jobId, failure: result.failure }, 'periodic savepoint failed');
      return { jobKey, outcome: 'failed', deleted, message: result.failure ?? 'failed' };
    }
    const excess = next.savepoints.slice(0, Math.max(0, next.savepoints.length - o.retain));
    for (const sp of excess) {
      const local = localPathUnder(sp.location, o.targetDirectory);
      if (local) await rm(local, { recursive: true, force: true });
      deleted.push(sp.location);
      await updateDocument<SavepointDocument>(store, savepointKey(jobKey), (cur) => {
        const d = cur ?? { savepoints: [], deleted: [] };
        return {
          ...d,
          savepoints: d.savepoints.filter((x) => x.location !== sp.location),
          deleted: [...d.deleted, { location: sp.location, at: (o.clock ?? Date.now)(), removedFiles: local !== null }].slice(-20),
        };
      });
      o.metrics?.deleted.inc({ job: jobKey });
    }
    o.metrics?.total.inc({ job: jobKey, outcome: 'completed' });
    o.metrics?.duration.observe({ job: jobKey }, ((o.clock ?? Date.now)() - started) / 1000);
    o.metrics?.lastSuccess.set({ job: jobKey }, (o.clock ?? Date.now)() / 1000);
    o.metrics?.retained.set({ job: jobKey }, next.savepoints.length - excess.length);
    return { jobKey, outcome: 'completed', location: result.location, deleted };
  }

  private async await(jobId: string, triggerId: string): Promise<{ location?: string; failure?: string }> {
    const deadline = (this.o.clock ?? Date.now)() + this.o.timeoutMs;
    for (;;) {
      const s = await this.o.flink.savepointStatus(jobId, triggerId);
      if (s === null) return { failure: 'the JobManager does not know the savepoint trigger (restarted?)' };
      if (s.status === 'COMPLETED') return { location: s.location };
      if (s.status === 'FAILED') return { failure: s.cause };
      if ((this.o.clock ?? Date.now)() >= deadline) return { failure: `not complete within ${this.o.timeoutMs} ms` };
      await this.o.sleep(this.o.pollIntervalMs);
    }
  }
}

/** The newest recorded savepoint of a job, or null. */
export async function latestSavepoint(journal: IntentJournal, jobKey: string): Promise<string | null> {
  const d = await journal.store.read<SavepointDocument>(savepointKey(jobKey));
  const list = d?.value.savepoints ?? [];
  return list.length > 0 ? list[list.length - 1]!.location : null;
}
