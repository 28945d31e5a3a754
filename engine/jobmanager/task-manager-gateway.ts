/**
 * The JobMaster's calls to its TaskManagers for one execution attempt (Flink's
 * TaskExecutorGateway): deploy the attempt's tasks, cancel them, release the attempt, and
 * one-way checkpoint messages. A TaskManager that is gone or does not answer within the ask
 * timeout is reported to the caller (deploy) or logged (cancel); release and sends are
 * best-effort, since a lost TaskManager drops its tasks anyway.
 */
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { JobDeployment, TaskDeployment } from '../runtime/deployment.ts';
import type { ResourceManager } from './resource-manager.ts';

export class TaskManagerGateway {
  private readonly resources: ResourceManager;
  private readonly askTimeoutMs: number;
  private readonly log: Logger;

  constructor(resources: ResourceManager, askTimeoutMs: number, log: Logger) {
    this.resources = resources;
    this.askTimeoutMs = askTimeoutMs;
    this.log = log;
  }

  /** Deploys every TaskManager's tasks in parallel; `onFailure` hears of each TaskManager that refused or is gone. */
  async deploy(base: Omit<JobDeployment, 'tasks'>, perTm: Map<string, TaskDeployment[]>, onFailure: (tmId: string, err: Error) => void): Promise<void> {
    await Promise.all(
      [...perTm].map(async ([tmId, tasks]) => {
        const tm = this.resources.taskManagers.get(tmId);
        try {
          if (!tm) throw new Error(`TaskManager ${tmId} is gone`);
          const deployment: JobDeployment = { ...base, tasks };
          await tm.conn.request({ t: 'deploy', deployment }, this.askTimeoutMs);
        } catch (err) {
          onFailure(tmId, new Error(`deployment to ${tmId} failed: ${errorMessage(err)}`));
        }
      }),
    );
  }

  /** Asks each TaskManager to cancel the attempt's tasks and waits for the answers (bounded). */
  async cancel(executionId: string, taskManagerIds: Iterable<string>): Promise<void> {
    await Promise.all(
      [...taskManagerIds].map(async (id) => {
        const tm = this.resources.taskManagers.get(id);
        if (!tm) return;
        try {
          await tm.conn.request({ t: 'cancel', executionId }, this.askTimeoutMs);
        } catch (err) {
          this.log.warn({ taskManagerId: id, err: errorMessage(err) }, 'cancel failed');
        }
      }),
    );
  }

  /** Tells each TaskManager the attempt is over (its channels and modules can go). */
  release(executionId: string, taskManagerIds: Iterable<string>): void {
    for (const id of new Set(taskManagerIds)) this.send(id, { t: 'release', executionId });
  }

  send(taskManagerId: string, msg: Record<string, unknown> & { t: string }): void {
    try {
      this.resources.taskManagers.get(taskManagerId)?.conn.send(msg);
    } catch {
      // a lost TaskManager: the checkpoint times out or the failover handles it
    }
  }
}
