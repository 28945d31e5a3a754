/**
 * Builds everything actuation needs from an ActuationConfig: the journal (file or ConfigMap),
 * the Flink REST and Kubernetes clients, leader election, the Event recorder, the Actuator,
 * periodic savepoints and disaster recovery. `start()` starts the election and cron jobs and,
 * `stop()` releases the Lease. The autoscaler pipeline (scaling/pipeline.ts) drives the
 * Actuator through an ActuatorRealizer (realizer.ts) and, as the leader's upkeep each cycle,
 * `checkRecovery()`; it alone resumes actions left in flight.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import { createKubeClients, type KubeClients } from '../kube/client.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { KubeEventRecorder } from '../kube/events.ts';
import { Actuator } from './actuator.ts';
import { durationMs, jobSettings, type ActuationConfig } from './config.ts';
import { defaultSleep, type ActuatorContext } from './context.ts';
import { DisasterRecovery, type RecoveryState } from './disaster-recovery.ts';
import { FlinkRestClient, type FlinkHttpOptions } from '../flink/rest-client.ts';
import { ConfigMapJournalStore } from './journal/configmap-store.ts';
import { FileJournalStore } from './journal/file-store.ts';
import { IntentJournal } from './journal/intent.ts';
import { DEFAULT_MEMORY_POLICY, type MemoryPolicy } from './memory-advice.ts';
import { createActuationMetrics, createPeriodicSavepointMetrics, createRecoveryMetrics } from './metrics.ts';
import { PeriodicSavepoints } from './periodic-savepoints.ts';
import type { JobSubmission } from './types.ts';

export interface ActuationRuntime {
  actuator: Actuator;
  journal: IntentJournal;
  flink: FlinkRestClient;
  kube?: KubeClients;
  elector?: LeaderElector;
  periodic?: PeriodicSavepoints;
  recovery?: DisasterRecovery;
  memoryPolicy: MemoryPolicy;
  isLeader(): boolean;
  start(): Promise<void>;
  /** Once per agent cycle, on the leader: check the watched jobs for recovery. */
  checkRecovery(): Promise<Record<string, RecoveryState>>;
  stop(): Promise<void>;
}

export interface RuntimeDeps {
  log: Logger;
  registry: Registry;
  /** This agent's identity (pod name) for the Lease and Events. */
  identity: string;
  clock?: () => number;
  /** The agent's Flink REST client for `cfg.flinkRestUrl`, to share one with collection; else the runtime makes its own. */
  flink?: FlinkRestClient;
  /** TLS and authentication for the runtime's own client (flink.httpConfig). */
  flinkHttp?: FlinkHttpOptions;
}

/**
 * FOR TESTS ONLY (`faultInjection.crashAfter`): once the named step is durably journaled, the
 * process exits with 137 (as if SIGKILLed), so crash-resume tests hit that point exactly.
 */
export function injectCrash(journal: IntentJournal, step: ActuationConfig['faultInjection']['crashAfter'], deps: Pick<RuntimeDeps, 'log'> & { exit?: (code: number) => void }): void {
  if (step === 'off') return;
  const advance = journal.advance.bind(journal);
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  journal.advance = async (h, s, data, note) => {
    const next = await advance(h, s, data, note);
    if (s === step) {
      deps.log.error({ jobKey: h.record.jobKey, step: s }, 'fault injection: exiting right after this journal step');
      exit(137);
    }
    return next;
  };
}

export function createActuationRuntime(cfg: ActuationConfig, deps: RuntimeDeps): ActuationRuntime {
  const clock = deps.clock ?? Date.now;
  const flink = deps.flink ?? new FlinkRestClient({ baseUrl: cfg.flinkRestUrl, timeoutMs: durationMs(cfg.restTimeout), ...(deps.flinkHttp ? { http: deps.flinkHttp } : {}) });
  const kube = cfg.kubernetes.enabled
    ? createKubeClients(
      cfg.kubernetes.connection === 'file' ? { kind: 'file', path: cfg.kubernetes.kubeconfig ?? '' } : { kind: cfg.kubernetes.connection },
      { ...(cfg.kubernetes.namespace ? { namespace: cfg.kubernetes.namespace } : {}), timeoutMs: durationMs(cfg.kubernetes.timeout) },
    )
    : undefined;
  const store = cfg.journal.kind === 'configmap' && kube
    ? new ConfigMapJournalStore({ clients: kube, name: cfg.journal.configMapName })
    : new FileJournalStore(cfg.journal.dir);
  const journal = new IntentJournal(store, clock);
  injectCrash(journal, cfg.faultInjection.crashAfter, deps);
  const elector = kube && cfg.leaderElection.enabled
    ? new LeaderElector({
      clients: kube, leaseName: cfg.leaderElection.leaseName, identity: deps.identity, log: deps.log, clock,
      leaseDurationSeconds: Math.max(1, Math.round(durationMs(cfg.leaderElection.leaseDuration) / 1000)),
      retryPeriodMs: durationMs(cfg.leaderElection.retryPeriod),
    })
    : undefined;
  const events = kube && cfg.events ? new KubeEventRecorder({ clients: kube, reportingInstance: deps.identity, clock }) : undefined;
  const submission = (jobKey: string): JobSubmission | undefined => {
    const s = jobSettings(cfg, jobKey);
    if (!s.jarId || !s.savepointDirectory) return undefined;
    return {
      jarId: s.jarId, savepointDirectory: s.savepointDirectory, allowNonRestoredState: s.allowNonRestoredState, perVertexOverrides: s.perVertexOverrides,
      ...(s.entryClass ? { entryClass: s.entryClass } : {}), ...(s.programArgs ? { programArgsList: s.programArgs } : {}),
    };
  };
  const context: ActuatorContext = {
    journal, flink, ...(kube ? { kube } : {}), submission,
    workload: (k) => jobSettings(cfg, k).taskManagerWorkload,
    flinkDeployment: (k) => jobSettings(cfg, k).flinkDeployment,
    timing: {
      verifyTimeoutMs: durationMs(cfg.timing.verifyTimeout), savepointTimeoutMs: durationMs(cfg.timing.savepointTimeout),
      pollIntervalMs: durationMs(cfg.timing.pollInterval), conflictRetries: cfg.timing.conflictRetries,
    },
    clock, sleep: defaultSleep, log: deps.log,
  };
  const isLeader = (): boolean => (elector ? elector.isLeader() : true);
  const actuator = new Actuator({
    context, isLeader, metrics: createActuationMetrics(deps.registry),
    ...(events ? { recordEvent: (ev) => events.record(ev) } : {}),
    eventSubject: (k) => {
      const fd = jobSettings(cfg, k).flinkDeployment;
      if (fd) return { apiVersion: 'flink.apache.org/v1beta1', kind: fd.kind ?? 'FlinkDeployment', name: fd.name, ...(fd.namespace ? { namespace: fd.namespace } : {}) };
      const w = jobSettings(cfg, k).taskManagerWorkload;
      if (w) return { apiVersion: 'apps/v1', kind: w.kind, name: w.name, ...(w.namespace ? { namespace: w.namespace } : {}) };
      return { kind: 'Pod', name: deps.identity };
    },
  });
  const ps = cfg.periodicSavepoints;
  const periodicDir = ps.targetDirectory ?? cfg.defaults.savepointDirectory;
  const periodic = ps.enabled && periodicDir
    ? new PeriodicSavepoints({
      flink, journal, schedule: ps.schedule, targetDirectory: periodicDir, retain: ps.retain, ...(ps.jobs ? { jobNames: ps.jobs } : {}),
      timeoutMs: durationMs(ps.timeout), pollIntervalMs: context.timing.pollIntervalMs, metrics: createPeriodicSavepointMetrics(deps.registry),
      log: deps.log, clock, sleep: (ms) => defaultSleep(ms),
    })
    : undefined;
  const recovery = cfg.recovery.enabled
    ? new DisasterRecovery({
      flink, journal, submission, maxAttempts: cfg.recovery.maxAttempts, backoffMs: durationMs(cfg.recovery.backoff),
      maxBackoffMs: durationMs(cfg.recovery.maxBackoff), clock, log: deps.log, metrics: createRecoveryMetrics(deps.registry),
      alert: (jobKey, severity, message) => deps.log[severity === 'critical' ? 'error' : 'warn']({ jobKey, alert: 'FlowpilotRecovery' }, message),
    })
    : undefined;
  const memoryPolicy: MemoryPolicy = { ...DEFAULT_MEMORY_POLICY, ...cfg.memory };
  return {
    actuator, journal, flink, ...(kube ? { kube } : {}), ...(elector ? { elector } : {}), ...(periodic ? { periodic } : {}),
    ...(recovery ? { recovery } : {}), memoryPolicy, isLeader,
    async start() {
      elector?.start();
      periodic?.start();
    },
    async checkRecovery() {
      const out: Record<string, RecoveryState> = {};
      if (!isLeader() || !recovery) return out;
      for (const j of cfg.recovery.jobs) out[j] = await recovery.check(j);
      return out;
    },
    async stop() {
      await periodic?.stop();
      await elector?.release();
      if (!deps.flink) await flink.close();
    },
  };
}
