/**
 * The intent journal: before an actuator touches anything it writes its intent, and after
 * every step it writes where it got to, so a process that crashes at any point can be
 * restarted and `resume` the action from its last journaled step. One record per job key
 * (`action/<jobKey>`) holds the current or last action; an unfinished record means an action
 * is in flight, which is how "one action in flight per job" survives restarts. History inside
 * a record is bounded. Writes are compare-and-set on the underlying store.
 */
import { randomBytes } from 'node:crypto';
import { FlowpilotError } from '../../../common/errors.ts';
import type { ActuationMode, ActuationOutcome, RescaleRequest } from '../types.ts';
import type { JournalStore } from './store.ts';

export interface StepEntry {
  step: string;
  at: number;
  note?: string;
}

export interface IntentData {
  /** The 32-hex trigger id sent with stop-with-savepoint (Flink's idempotency key). */
  triggerId?: string;
  savepointLocation?: string;
  newJobId?: string;
  rollbackJobId?: string;
  jobName?: string;
  [k: string]: unknown;
}

export interface IntentRecord {
  actionId: string;
  jobKey: string;
  mode: ActuationMode;
  request: RescaleRequest;
  step: string;
  finished: boolean;
  outcome?: ActuationOutcome;
  message?: string;
  data: IntentData;
  history: StepEntry[];
  createdAt: number;
  updatedAt: number;
}

/** A record plus the store version it was read at; pass it back to advance/finish. */
export interface IntentHandle {
  record: IntentRecord;
  version: number;
}

const MAX_HISTORY = 50;

export function actionKey(jobKey: string): string {
  return `action.${jobKey}`;
}

export class IntentJournal {
  readonly store: JournalStore;
  private readonly clock: () => number;

  constructor(store: JournalStore, clock: () => number = Date.now) {
    this.store = store;
    this.clock = clock;
  }

  async get(jobKey: string): Promise<IntentHandle | null> {
    const v = await this.store.read<IntentRecord>(actionKey(jobKey));
    return v ? { record: v.value, version: v.version } : null;
  }

  /** Journals a new intent; FP_ACTUATE_BUSY when an unfinished action exists for this job. */
  async begin(jobKey: string, request: RescaleRequest, data: IntentData = {}): Promise<IntentHandle> {
    const cur = await this.get(jobKey);
    if (cur && !cur.record.finished) {
      throw new FlowpilotError('FP_ACTUATE_BUSY',
        `an action (${cur.record.mode}, ${cur.record.actionId}) is already in flight for job ${jobKey} at step "${cur.record.step}"; it must finish or be resumed first`,
        { details: { actionId: cur.record.actionId, step: cur.record.step } });
    }
    const now = this.clock();
    const record: IntentRecord = {
      actionId: randomBytes(16).toString('hex'),
      jobKey, mode: request.mode, request, step: 'intent', finished: false, data,
      history: [{ step: 'intent', at: now, note: request.reasons.join('; ').slice(0, 500) }],
      createdAt: now, updatedAt: now,
    };
    const version = await this.store.write(actionKey(jobKey), record, cur ? cur.version : null);
    return { record, version };
  }

  /** Journals that `step` was reached, merging `data` into the record. */
  async advance(h: IntentHandle, step: string, data: IntentData = {}, note?: string): Promise<IntentHandle> {
    const now = this.clock();
    const entry: StepEntry = note === undefined ? { step, at: now } : { step, at: now, note: note.slice(0, 500) };
    const record: IntentRecord = {
      ...h.record, step, data: { ...h.record.data, ...data }, updatedAt: now,
      history: [...h.record.history, entry].slice(-MAX_HISTORY),
    };
    const version = await this.store.write(actionKey(h.record.jobKey), record, h.version);
    return { record, version };
  }

  /** Writes data into the record without a new step (e.g. an idempotency key before a call). */
  async annotate(h: IntentHandle, data: IntentData): Promise<IntentHandle> {
    const record: IntentRecord = { ...h.record, data: { ...h.record.data, ...data }, updatedAt: this.clock() };
    const version = await this.store.write(actionKey(h.record.jobKey), record, h.version);
    return { record, version };
  }

  /** Journals the end of the action; the job is free for the next one. */
  async finish(h: IntentHandle, step: string, outcome: ActuationOutcome, message: string, data: IntentData = {}): Promise<IntentHandle> {
    const next = await this.advance({ ...h, record: { ...h.record, finished: true, outcome, message } }, step, data, message);
    return next;
  }

  /** Every unfinished action, for resuming after a restart. */
  async unfinished(): Promise<IntentHandle[]> {
    const out: IntentHandle[] = [];
    for (const key of await this.store.keys()) {
      if (!key.startsWith('action.')) continue;
      const v = await this.store.read<IntentRecord>(key);
      if (v && !v.value.finished) out.push({ record: v.value, version: v.version });
    }
    return out;
  }
}
