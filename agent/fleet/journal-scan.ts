/**
 * A fleet job's realizer that reads the job's journal for unfinished actions only when one can be
 * there. The autoscaler pipeline asks `unfinished()` when it becomes leader (a takeover) and on
 * every tick (JOB_TICK_MS): each ask read the job's whole state ConfigMap (the journal record and
 * the compressed history, up to fleet.state.perJobBytes), 0.33 Kubernetes reads per job per 10 s
 * interval, the largest per-job Kubernetes cost left (BENCHMARKS.md, "Fleet").
 *
 * Within one JobPipeline, the journal gains an open record only through this pipeline's own
 * actions: another replica acts on the job only once the hash has given it the job for a lease
 * duration (shard.ts), and every shard round reconciles, which stops this pipeline as soon as the
 * job is no longer owned here; a replica that takes the job (again) starts a new pipeline, whose
 * first ask reads. So a read that found nothing open stays true until this pipeline starts or
 * resumes an action, or sees its guard lapse; until then an ask answers from it without a read.
 */
import type { Realized, RealizeOrder, Realizer } from '../scaling/pipeline.ts';

export class JournalScanSkipping implements Realizer {
  readonly mode: string;
  private readonly inner: Realizer;
  /** bumped when an action starts or ends, and when the guard is seen lapsed */
  private gen = 0;
  /** the generation at which a read found no unfinished action (null: none such) */
  private cleanAt: number | null = null;
  /** reads of the journal made (tests) */
  reads = 0;

  constructor(inner: Realizer) {
    this.inner = inner;
    this.mode = inner.mode;
  }

  isLeader(): boolean {
    const leader = this.inner.isLeader();
    if (!leader) this.gen++;
    return leader;
  }

  async realize(order: RealizeOrder): Promise<Realized> {
    this.gen++;
    try {
      return await this.inner.realize(order);
    } finally {
      this.gen++;
    }
  }

  async resume(jobKey: string): Promise<Realized | null> {
    this.gen++;
    try {
      return await this.inner.resume(jobKey);
    } finally {
      this.gen++;
    }
  }

  async unfinished(): Promise<string[]> {
    if (this.cleanAt === this.gen) return [];
    const at = this.gen;
    this.reads++;
    const keys = await this.inner.unfinished();
    // an action that started or ended during the read makes it stale: the next ask reads again
    this.cleanAt = keys.length === 0 && at === this.gen ? at : null;
    return keys;
  }
}
