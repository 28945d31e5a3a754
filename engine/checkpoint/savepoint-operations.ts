/**
 * The asynchronous savepoint and stop-with-savepoint operations of one job, by trigger id
 * (32 hex), in the shape the REST layer serves (SavepointOperation). Policy for a second
 * request while one is in progress: a retry with a known trigger id gets that id back; a
 * request for the same thing (same kind, same target directory) joins the running operation
 * and gets its trigger id; a request for something else (a stop while a plain savepoint runs,
 * or another target) is refused with FP_REST_CONFLICT (HTTP 409). Finished operations are kept
 * (the last 100) so clients can poll late.
 */
import { randomBytes } from 'node:crypto';
import { FlowpilotError } from '../../common/errors.ts';
import type { SavepointOperation } from '../contracts/checkpoints.ts';
import type { SnapshotKind } from './metadata.ts';

interface Operation {
  triggerId: string;
  kind: SnapshotKind;
  /** Resolved target directory, or '' for the configured default. */
  target: string;
  state: SavepointOperation;
}

const KEEP_FINISHED = 100;
const HEX32 = /^[0-9a-f]{32}$/;

export function newTriggerId(): string {
  return randomBytes(16).toString('hex');
}

export type SavepointAdmission = { join: true; triggerId: string } | { join: false; triggerId: string };

export class SavepointOperations {
  private readonly ops = new Map<string, Operation>();
  private readonly jobId: string;

  constructor(jobId: string) {
    this.jobId = jobId;
  }

  /**
   * Decides whether a request starts a new operation or joins a running one. Call `begin` with
   * the returned id when it does not join. Throws FP_REST_BAD_REQUEST or FP_REST_CONFLICT.
   */
  admit(kind: SnapshotKind, target: string, requestedTriggerId?: string): SavepointAdmission {
    if (requestedTriggerId !== undefined) {
      if (!HEX32.test(requestedTriggerId)) {
        throw new FlowpilotError('FP_REST_BAD_REQUEST', `triggerId "${requestedTriggerId}" must be 32 lowercase hex characters`);
      }
      if (this.ops.has(requestedTriggerId)) return { join: true, triggerId: requestedTriggerId };
    }
    const running = [...this.ops.values()].find((o) => o.state.status === 'IN_PROGRESS');
    if (running) {
      if (running.kind === kind && running.target === target) return { join: true, triggerId: running.triggerId };
      const what = running.kind === 'SYNC_SAVEPOINT' ? 'stop-with-savepoint' : 'savepoint';
      throw new FlowpilotError(
        'FP_REST_CONFLICT',
        `A ${what} (trigger ${running.triggerId}) is already in progress for job ${this.jobId}. Poll GET /jobs/${this.jobId}/savepoints/${running.triggerId} and retry when it has completed.`,
        { details: { triggerId: running.triggerId } },
      );
    }
    return { join: false, triggerId: requestedTriggerId ?? newTriggerId() };
  }

  begin(triggerId: string, kind: SnapshotKind, target: string): void {
    this.ops.set(triggerId, { triggerId, kind, target, state: { status: 'IN_PROGRESS' } });
    this.trim();
  }

  complete(triggerId: string, location: string): void {
    const op = this.ops.get(triggerId);
    if (op) op.state = { status: 'COMPLETED', location };
  }

  fail(triggerId: string, err: unknown): void {
    const op = this.ops.get(triggerId);
    if (!op) return;
    const message = err instanceof Error ? err.message : String(err);
    op.state = {
      status: 'COMPLETED',
      failure: {
        className: 'org.apache.flink.runtime.checkpoint.CheckpointException',
        message,
        stackTrace: err instanceof Error && err.stack ? err.stack : message,
      },
    };
  }

  /** Undefined for an unknown trigger id. */
  status(triggerId: string): SavepointOperation | undefined {
    const s = this.ops.get(triggerId)?.state;
    return s ? structuredClone(s) : undefined;
  }

  private trim(): void {
    const finished = [...this.ops.values()].filter((o) => o.state.status !== 'IN_PROGRESS');
    for (const o of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.ops.delete(o.triggerId);
  }
}
