/**
 * The Flink REST calls actuation needs (research/flink-api.md §1.3.4–1.3.16): job details and
 * overview, checkpoint statistics, resource requirements (adaptive scheduler), savepoint
 * trigger, stop-with-savepoint, the asynchronous-operation poll, jar run and cancel. Each
 * call has a timeout; Flink's `{"errors":[...]}` bodies become FlowpilotErrors carrying the
 * HTTP status (FP_FLINK_NOT_FOUND for 404, FP_FLINK_REST otherwise). Only documented request
 * fields are sent: Flink ≤ 1.19 rejects unknown ones with 400.
 */
import { request } from 'undici';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export interface FlinkVertex {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism?: number;
  status: string;
  tasks?: Record<string, number>;
}

export interface FlinkJobDetails {
  jid: string;
  name: string;
  state: string;
  vertices: FlinkVertex[];
}

export interface FlinkJobOverview {
  jid: string;
  name: string;
  state: string;
  'start-time'?: number;
}

export type ResourceRequirements = Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;

export type AsyncOperation =
  | { status: 'IN_PROGRESS' }
  | { status: 'COMPLETED'; location: string }
  | { status: 'FAILED'; cause: string };

export interface CheckpointPaths {
  latestCompleted: string | null;
  latestSavepoint: string | null;
  restored: string | null;
}

export const TERMINAL_JOB_STATES = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED']);

export class FlinkRest {
  readonly baseUrl: string;
  readonly timeoutMs: number;

  constructor(baseUrl: string, timeoutMs = 10_000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const url = `${this.baseUrl}${path}`;
    let res;
    try {
      res = await request(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const code = (err as { name?: string }).name === 'TimeoutError' ? 'FP_FLINK_TIMEOUT' : 'FP_FLINK_UNREACHABLE';
      throw new FlowpilotError(code, `${method} ${url}: ${errorMessage(err)}`, { cause: err });
    }
    const text = await res.body.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    if (res.statusCode >= 400) {
      const errors = (json as { errors?: unknown })?.errors;
      const msg = Array.isArray(errors) ? errors.map(String).join('; ') : String(text).slice(0, 300);
      throw new FlowpilotError(res.statusCode === 404 ? 'FP_FLINK_NOT_FOUND' : 'FP_FLINK_REST',
        `${method} ${path} → HTTP ${res.statusCode}: ${msg}`, { details: { httpStatus: res.statusCode } });
    }
    return { status: res.statusCode, json: json as T };
  }

  async job(jobId: string): Promise<FlinkJobDetails | null> {
    try {
      return (await this.call<FlinkJobDetails>('GET', `/jobs/${jobId}`)).json;
    } catch (err) {
      if (err instanceof FlowpilotError && err.code === 'FP_FLINK_NOT_FOUND') return null;
      throw err;
    }
  }

  async jobsOverview(): Promise<FlinkJobOverview[]> {
    return (await this.call<{ jobs: FlinkJobOverview[] }>('GET', '/jobs/overview')).json.jobs ?? [];
  }

  /** Jobs with this name that are not in a terminal state (a running copy). */
  async liveJobsNamed(name: string): Promise<FlinkJobOverview[]> {
    return (await this.jobsOverview()).filter((j) => j.name === name && !TERMINAL_JOB_STATES.has(j.state));
  }

  async resourceRequirements(jobId: string): Promise<ResourceRequirements> {
    return (await this.call<ResourceRequirements>('GET', `/jobs/${jobId}/resource-requirements`)).json;
  }

  async setResourceRequirements(jobId: string, body: ResourceRequirements): Promise<void> {
    await this.call('PUT', `/jobs/${jobId}/resource-requirements`, body);
  }

  /** Stop-with-savepoint (camelCase `targetDirectory`); `triggerId` makes retries idempotent. */
  async stopWithSavepoint(jobId: string, targetDirectory: string, triggerId: string): Promise<string> {
    const r = await this.call<{ 'request-id': string }>('POST', `/jobs/${jobId}/stop`, { targetDirectory, drain: false, triggerId });
    return r.json['request-id'];
  }

  /** A savepoint that leaves the job running (hyphenated `target-directory`). */
  async triggerSavepoint(jobId: string, targetDirectory: string, triggerId: string): Promise<string> {
    const r = await this.call<{ 'request-id': string }>('POST', `/jobs/${jobId}/savepoints`, { 'target-directory': targetDirectory, 'cancel-job': false, triggerId });
    return r.json['request-id'];
  }

  /** Polls a savepoint or stop operation; null when the trigger id is unknown (404). */
  async savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperation | null> {
    let json: { status?: { id?: string }; operation?: { location?: string; 'failure-cause'?: { class?: string; 'stack-trace'?: string } } | null };
    try {
      json = (await this.call<typeof json>('GET', `/jobs/${jobId}/savepoints/${triggerId}`)).json;
    } catch (err) {
      if (err instanceof FlowpilotError && err.code === 'FP_FLINK_NOT_FOUND') return null;
      throw err;
    }
    if (json.status?.id !== 'COMPLETED') return { status: 'IN_PROGRESS' };
    const op = json.operation ?? {};
    if (typeof op.location === 'string') return { status: 'COMPLETED', location: op.location };
    const fc = op['failure-cause'];
    return { status: 'FAILED', cause: `${fc?.class ?? 'unknown'}: ${(fc?.['stack-trace'] ?? '').split('\n')[0] ?? ''}` };
  }

  async runJar(jarId: string, body: {
    entryClass?: string; programArgsList?: string[]; parallelism?: number; savepointPath?: string;
    allowNonRestoredState?: boolean; flinkConfiguration?: Record<string, string>;
  }): Promise<string> {
    const r = await this.call<{ jobid: string }>('POST', `/jars/${encodeURIComponent(jarId)}/run`, body);
    return r.json.jobid;
  }

  async cancel(jobId: string): Promise<void> {
    try {
      await this.call('PATCH', `/jobs/${jobId}?mode=cancel`);
    } catch (err) {
      // 409: already terminal — the goal (not running) holds.
      if (err instanceof FlowpilotError && (err.details?.httpStatus === 409 || err.code === 'FP_FLINK_NOT_FOUND')) return;
      throw err;
    }
  }

  /** Latest completed checkpoint, latest savepoint and the restore source; nulls when checkpointing is off. */
  async checkpointPaths(jobId: string): Promise<CheckpointPaths> {
    type Stat = { external_path?: string } | null;
    try {
      const j = (await this.call<{ latest?: { completed?: Stat; savepoint?: Stat; restored?: Stat } }>('GET', `/jobs/${jobId}/checkpoints`)).json;
      return {
        latestCompleted: j.latest?.completed?.external_path ?? null,
        latestSavepoint: j.latest?.savepoint?.external_path ?? null,
        restored: j.latest?.restored?.external_path ?? null,
      };
    } catch (err) {
      if (err instanceof FlowpilotError && err.code === 'FP_FLINK_NOT_FOUND') return { latestCompleted: null, latestSavepoint: null, restored: null };
      throw err;
    }
  }
}

/** True when every vertex in `target` runs at its target parallelism with all subtasks RUNNING. */
export function runsAt(job: FlinkJobDetails, target: Record<string, number>): boolean {
  if (job.state !== 'RUNNING') return false;
  for (const [vid, p] of Object.entries(target)) {
    const v = job.vertices.find((x) => x.id === vid);
    if (!v || v.parallelism !== p) return false;
    const running = v.tasks?.RUNNING ?? v.tasks?.running;
    if (running !== undefined && running !== p) return false;
  }
  return true;
}
