/**
 * The autoscaler pipeline: the live loop of the agent's autoscaler, one stage after another,
 * in the shape of the operator's JobAutoScalerImpl (metrics collector → evaluator → executor →
 * ScalingRealizer, with an AutoScalerStateStore flushed after every run) but with our stages:
 *
 *   ObservationSource → decide (pure; ScalingController folds the history) → Realizer
 *                                      ↕ StateStore (the history survives restarts/failover)
 *
 * - One owner of "action in flight": `ActionsInFlight` below. It holds the running action per
 *   job, the actions a previous process left unfinished (found through the Realizer's durable
 *   record, the intent journal) and the ones that stopped between steps; decide() is told from
 *   it, and nothing else in the process keeps such a set.
 * - Only the leader decides and acts. A process that becomes leader drops what it had in
 *   memory and reloads each job's history from the StateStore, so it continues where the old
 *   leader stopped (rescale records, learned restart cost, fits, forecast, cool-down timers).
 * - The pipeline calls nothing back: decisions go to a DecisionSink (ring, gauges, log), actions
 *   to the Realizer; the process layer only builds the stages and feeds observations.
 */
import type { Logger } from '../../common/log.ts';
import { errorMessage, isFlowpilotError } from '../../common/errors.ts';
import type { JobObservation } from './observation.ts';
import type { ScaleDecision } from './decision.ts';
import type { FiringAlert } from './decide.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import type { ScalingHistory } from './history.ts';
import { ScalingController, jobKeyOf } from './controller.ts';

/** Where observations come from (the agent's Flink REST collector, a recording, a test). */
export interface ObservationSource {
  /** Delivers every observation to `sink`, one at a time and in order; returns an unsubscribe. */
  subscribe(sink: ObservationSink): () => void;
}
export type ObservationSink = (observation: JobObservation, alerts: readonly FiringAlert[]) => Promise<unknown>;

/** What a Realizer is asked to carry out: a rescale decision, and the parallelism the job runs at. */
export interface RealizeOrder {
  jobKey: string;
  decision: ScaleDecision;
  /** parallelism per vertex when the decision was made */
  running: Record<string, number>;
}

/** How an action ended (ActuationResult has this shape). */
export interface Realized {
  actionId: string;
  jobKey: string;
  mode: string;
  outcome: string;
  message: string;
  resumed: boolean;
  errorCode?: string;
  /** false: the action stopped between two steps and must be resumed before the next one */
  finished?: boolean;
  /** Through the Flink Kubernetes Operator: in place or as an upgrade, and how long the job was not RUNNING. */
  realization?: { expected: string; realized: string; notRunningMs: number; unexpectedUpgrade?: boolean };
}

/** Carries out a rescale (in place, savepoint, TaskManager Deployment, FlinkDeployment, …). */
export interface Realizer {
  readonly mode: string;
  /** Only the leader realizes (and decides). */
  isLeader(): boolean;
  realize(order: RealizeOrder): Promise<Realized>;
  /** Jobs whose last action is unfinished in the durable record (left by a crash or an interruption). */
  unfinished(): Promise<string[]>;
  /** Drives that job's unfinished action to its end; null when there is none. */
  resume(jobKey: string): Promise<Realized | null>;
}

/** Keeps each job's ScalingHistory across restarts and leader changes. */
export interface StateStore {
  readonly where: string;
  load(jobKey: string): Promise<ScalingHistory | null>;
  save(jobKey: string, history: ScalingHistory): Promise<unknown>;
}

/** Records every decision (the explain ring, gauges, one log line). */
export interface DecisionSink {
  record(d: ScaleDecision): void;
}

/** Anything with the RuleManager's `alerts()` shape. */
export interface AlertSource {
  alerts(): Array<{ alert: { state: string; labels: Readonly<Record<string, string>> } }>;
}

/** The firing alerts of a rule manager, as decide() takes them. */
export function firingAlerts(source: AlertSource | null | undefined): FiringAlert[] {
  if (!source) return [];
  return source
    .alerts()
    .filter((a) => a.alert.state === 'firing')
    .map((a) => ({ labels: { ...a.alert.labels } }));
}

/** Dry run: every decision is a recommendation, so the engine never waits for a rescale nobody carries out. */
export function recommendOnly(policy: ScalingPolicy): ScalingPolicy {
  const jobs = Object.fromEntries(Object.entries(policy.jobs).map(([k, v]) => [k, { ...v, execute: false }]));
  return { ...policy, execute: false, jobs };
}

/**
 * The one record of actions in flight in this process, per job key: running (a promise), or
 * waiting to be resumed (left unfinished by an earlier process or by an interrupted step).
 */
export class ActionsInFlight {
  private readonly running = new Map<string, Promise<void>>();
  private readonly toResume = new Set<string>();

  /** Whether decide() must hold off for this job. */
  has(jobKey: string): boolean {
    return this.running.has(jobKey) || this.toResume.has(jobKey);
  }

  isRunning(jobKey: string): boolean {
    return this.running.has(jobKey);
  }

  /**
   * Marks a job whose action must be resumed before anything else happens to it. A record
   * found open while this process runs the action is that action (`force` when it has just
   * returned with its record still open).
   */
  markUnfinished(jobKey: string, force = false): void {
    if (force || !this.running.has(jobKey)) this.toResume.add(jobKey);
  }

  pendingResumes(): string[] {
    return [...this.toResume];
  }

  /** Runs `action` for the job unless one is running; false when one is. */
  run(jobKey: string, action: () => Promise<void>): boolean {
    if (this.running.has(jobKey)) return false;
    this.toResume.delete(jobKey);
    const p = action().finally(() => {
      if (this.running.get(jobKey) === p) this.running.delete(jobKey);
    });
    this.running.set(jobKey, p);
    return true;
  }

  /** Forgets what is only known from the durable record (a new leader re-reads it). */
  forgetUnfinished(): void {
    this.toResume.clear();
  }

  get size(): number {
    return this.running.size + this.toResume.size;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}

export interface PipelineOptions {
  policy: ScalingPolicy;
  /** null: decide and record only (dry run without an actuation runtime) */
  realizer?: Realizer | null;
  /** null: the history lives in memory only */
  store?: StateStore | null;
  decisions?: DecisionSink;
  logger?: Logger;
  /** Recommend only: decisions never ask for a rescale. */
  dryRun?: boolean;
  /** Save a job's history at least this often even when nothing notable changed (ms; default 30 s). */
  saveEveryMs?: number;
  /** Leader upkeep each tick after resuming actions (e.g. disaster recovery checks). */
  upkeep?: () => Promise<void>;
  /** The tick timer (resume + upkeep), ms; 0 disables it (tests drive `tick()`). */
  tickEveryMs?: number;
}

const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
type Log = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/** The facts whose loss a restart would feel: when they change, the history is saved at once. */
function notable(before: ScalingHistory | undefined, after: ScalingHistory, d: ScaleDecision): boolean {
  if (d.action === 'rescale' || !before) return true;
  const lb = before.rescales.at(-1);
  const la = after.rescales.at(-1);
  return before.restartSamples !== after.restartSamples || before.rescales.length !== after.rescales.length
    || lb?.completedAt !== la?.completedAt || lb?.checked.length !== la?.checked.length
    || Object.keys(before.ineffective).join() !== Object.keys(after.ineffective).join()
    || Object.keys(before.pendingDown).length !== Object.keys(after.pendingDown).length;
}

export class AutoscalerPipeline {
  readonly controller: ScalingController;
  readonly actions = new ActionsInFlight();
  /** The latest action outcome per job, for logs and the explain API. */
  readonly lastResults = new Map<string, Realized>();
  private readonly o: PipelineOptions;
  private readonly log: Log;
  private readonly loaded = new Set<string>();
  private readonly savedAt = new Map<string, number>();
  private leading = false;
  private takeover: Promise<void> = Promise.resolve();
  private ticking: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private saving: Promise<unknown> = Promise.resolve();

  constructor(o: PipelineOptions) {
    this.o = o;
    this.log = o.logger ?? quietLog;
    this.controller = new ScalingController(o.dryRun ? recommendOnly(o.policy) : o.policy);
  }

  /** Takes a new policy from the next decision on; histories, actions in flight and saved state are kept. */
  setPolicy(policy: ScalingPolicy): void {
    this.controller.setPolicy(this.o.dryRun ? recommendOnly(policy) : policy);
  }

  get realizer(): Realizer | null {
    return this.o.realizer ?? null;
  }

  /** Subscribes to the source and starts the tick timer. */
  start(source?: ObservationSource): void {
    if (source) this.unsubscribe = source.subscribe((obs, alerts) => this.scale(obs, alerts));
    const every = this.o.tickEveryMs ?? 0;
    if (this.realizer && every > 0) {
      void this.tick();
      this.timer = setInterval(() => void this.tick(), every);
      this.timer.unref();
    }
  }

  /** Stops taking observations, waits for actions in flight, and saves every history. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.actions.settled();
    await this.saving;
    if (this.isLeader()) await this.flush();
  }

  private isLeader(): boolean {
    return this.realizer ? this.realizer.isLeader() : true;
  }

  /**
   * Leadership: a process that just became leader forgets its memory and reads the durable
   * record (histories, unfinished actions) before its first decision; one that lost it stops.
   */
  private async checkLeadership(): Promise<boolean> {
    const leader = this.isLeader();
    if (leader && !this.leading) {
      this.leading = true;
      this.controller.forgetAll();
      this.loaded.clear();
      this.actions.forgetUnfinished();
      this.takeover = this.discoverUnfinished();
    } else if (!leader && this.leading) {
      this.leading = false;
      this.log.warn({}, 'no longer the leader: the autoscaler pauses');
    }
    // Every caller waits until the unfinished actions are known, so none decides before.
    if (leader) await this.takeover;
    return leader;
  }

  private async discoverUnfinished(): Promise<void> {
    if (!this.realizer) return;
    try {
      for (const key of await this.realizer.unfinished()) this.actions.markUnfinished(key);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot read the actions left unfinished');
    }
  }

  /** Once per cycle (timer): find unfinished actions, resume them, then the leader's upkeep. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      if (!this.realizer || !(await this.checkLeadership())) return;
      await this.discoverUnfinished();
      this.resumePending();
      if (this.o.upkeep) await this.o.upkeep().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'autoscaler upkeep failed'));
    })().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private resumePending(): void {
    const realizer = this.realizer;
    if (!realizer) return;
    for (const key of this.actions.pendingResumes()) {
      this.actions.run(key, async () => {
        try {
          const r = await realizer.resume(key);
          if (r) this.finished(r);
        } catch (err) {
          this.failed(key, err);
        }
      });
    }
  }

  /** One observation through the pipeline; null when this process is not the leader. */
  async scale(obs: JobObservation, alerts: readonly FiringAlert[] = []): Promise<ScaleDecision | null> {
    if (!(await this.checkLeadership())) return null;
    this.resumePending();
    const key = jobKeyOf(obs);
    await this.load(key);
    const before = this.controller.history(key);
    const d = this.controller.step(obs, alerts, undefined, { actionInFlight: this.actions.has(key) });
    this.o.decisions?.record(d);
    const after = this.controller.history(key)!;
    const every = this.o.saveEveryMs ?? 30_000;
    if (notable(before, after, d) || obs.time - (this.savedAt.get(key) ?? Number.NEGATIVE_INFINITY) >= every) {
      // Saved before the action starts, so a crash mid-action still knows the rescale (cool-down, restart cost).
      await this.save(key, after, obs.time);
    }
    if (d.action === 'rescale' && this.realizer) this.act(key, d, obs);
    return d;
  }

  private act(key: string, d: ScaleDecision, obs: JobObservation): void {
    const realizer = this.realizer!;
    const order: RealizeOrder = { jobKey: key, decision: d, running: Object.fromEntries(obs.vertices.map((v) => [v.id, v.parallelism])) };
    // decide() was told about actions in flight and blocks with rescale-in-progress, so this starts.
    this.actions.run(key, async () => {
      try {
        this.finished(await realizer.realize(order));
      } catch (err) {
        this.failed(key, err);
      }
    });
  }

  private finished(r: Realized): void {
    this.lastResults.set(r.jobKey, r);
    if (r.finished === false) this.actions.markUnfinished(r.jobKey, true);
    // Rejected or failed: the job runs as before; decide() must not wait for that rescale to take effect.
    else if (r.outcome === 'rejected' || r.outcome === 'failed') this.controller.notCarriedOut(r.jobKey, `${r.outcome}: ${r.message}`.slice(0, 300));
    const level = r.outcome === 'succeeded' || r.outcome === 'recommended' ? 'info' : 'warn';
    this.log[level]({ jobKey: r.jobKey, mode: r.mode, outcome: r.outcome, actionId: r.actionId, resumed: r.resumed, ...(r.realization ? { realization: r.realization } : {}) }, 'rescale action finished');
  }

  private failed(key: string, err: unknown): void {
    const code = isFlowpilotError(err) ? err.code : undefined;
    this.log.warn({ jobKey: key, code, err: errorMessage(err) }, 'the rescale was not carried out');
    // A busy journal means an action exists that this process has not resumed yet.
    if (code === 'FP_ACTUATE_BUSY') this.actions.markUnfinished(key, true);
    else this.controller.notCarriedOut(key, `error: ${errorMessage(err)}`.slice(0, 300));
  }

  private async load(key: string): Promise<void> {
    if (this.loaded.has(key) || !this.o.store) return;
    try {
      const h = await this.o.store.load(key);
      if (h) {
        this.controller.restore(key, h);
        this.log.info({ jobKey: key, where: this.o.store.where, rescales: h.rescales.length, restartCostSec: h.restartCostSec }, 'autoscaler state restored');
      }
      this.loaded.add(key);
    } catch (err) {
      // Decide without it rather than not at all; the next observation tries again.
      this.log.warn({ jobKey: key, err: errorMessage(err) }, 'cannot read the autoscaler state');
    }
  }

  private async save(key: string, h: ScalingHistory, at: number): Promise<void> {
    const store = this.o.store;
    if (!store) return;
    const run = this.saving.then(() => store.save(key, h)).then(
      () => void this.savedAt.set(key, at),
      (err: unknown) => this.log.warn({ jobKey: key, where: store.where, err: errorMessage(err) }, 'cannot save the autoscaler state'),
    );
    this.saving = run;
    await run;
  }

  /** Saves every job's history now (the operator's flush). */
  async flush(): Promise<void> {
    for (const key of this.controller.jobKeys()) {
      const h = this.controller.history(key);
      if (h) await this.save(key, h, this.savedAt.get(key) ?? 0);
    }
  }
}
