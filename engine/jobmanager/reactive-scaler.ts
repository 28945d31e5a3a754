/**
 * Reactive mode (`scheduler-mode: reactive`): the cluster's slots decide each job's parallelism.
 * When TaskManagers join or leave, the scaler waits until the set of slots has been stable for
 * `jobmanager.adaptive-scheduler.resource-stabilization-timeout` (every change restarts the
 * wait), then rescales each running job in place, from its latest checkpoint, to
 * min(upper bound, total slots) per vertex: the upper bound is what PUT resource-requirements
 * set, else the vertex's maxParallelism. A job submitted in reactive mode starts at that
 * parallelism too, whatever it asked for (JobManager.submit). As in Flink, reactive mode is meant for one job per
 * cluster; with slot sharing a job needs as many slots as its largest parallelism.
 */
import type { Logger } from '../../common/log.ts';

export interface ReactiveJob {
  readonly jobId: string;
  readonly isTerminal: boolean;
  readonly graph: { vertices: Array<{ id: string; parallelism: number; maxParallelism: number }> };
  /** Upper bounds set through resource-requirements, by vertex id. */
  readonly upperBounds: Record<string, number>;
  rescale(parallelism: Record<string, number>): Promise<unknown>;
}

export interface ReactiveScalerDeps {
  stabilizationMs: number;
  totalSlots(): number;
  jobs(): Iterable<ReactiveJob>;
  log: Logger;
}

/** The per-vertex parallelism reactive mode runs a job at with `slots` slots; null when nothing changes. */
export function reactiveTarget(job: Pick<ReactiveJob, 'graph' | 'upperBounds'>, slots: number): Record<string, number> | null {
  const target: Record<string, number> = {};
  let changed = false;
  for (const v of job.graph.vertices) {
    const upper = Math.min(job.upperBounds[v.id] ?? v.maxParallelism, v.maxParallelism);
    const p = Math.max(1, Math.min(upper, slots));
    target[v.id] = p;
    if (p !== v.parallelism) changed = true;
  }
  return changed ? target : null;
}

export class ReactiveScaler {
  private readonly deps: ReactiveScalerDeps;
  private timer: NodeJS.Timeout | null = null;

  constructor(deps: ReactiveScalerDeps) {
    this.deps = deps;
  }

  /** A TaskManager joined or left: (re)start the stabilization wait. */
  resourcesChanged(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.apply();
    }, this.deps.stabilizationMs);
    this.timer.unref();
  }

  /** Rescales every live job to what the current slots allow. */
  apply(): void {
    const slots = this.deps.totalSlots();
    if (slots <= 0) return;
    for (const job of this.deps.jobs()) {
      if (job.isTerminal) continue;
      const target = reactiveTarget(job, slots);
      if (!target) continue;
      this.deps.log.info({ jobId: job.jobId, slots, target }, 'reactive mode: rescaling to the available slots');
      void job.rescale(target).catch((err: unknown) => this.deps.log.error({ jobId: job.jobId, err: (err as Error).message }, 'reactive rescale failed'));
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
