/**
 * The actuation configuration: one zod schema with a default and a description for every
 * option (where the journal lives, how to reach Flink and Kubernetes, leader election, timing,
 * per-job submission and Kubernetes targets, periodic savepoints, disaster recovery, memory
 * advice). `parseActuationConfig` validates and fills defaults; errors name the option path.
 * Durations are numbers of seconds or Prometheus durations such as "500ms", "30s", "5m", "1h30m"
 * (common/duration.ts).
 */
import { z } from 'zod';
import { parseSecondsOrPromDuration } from '../../common/duration.ts';
import { secondsOrPromDuration } from '../../common/duration-schema.ts';
import { FlowpilotError } from '../../common/errors.ts';

const duration = secondsOrPromDuration;

/** A configured duration in milliseconds (validated by the schema). */
export function durationMs(d: number | string): number {
  return parseSecondsOrPromDuration(d);
}

const jobTarget = z.object({
  jarId: z.string().optional().describe('jar (job module) id to resubmit from a savepoint or checkpoint (POST /jars/:jarid/run)'),
  entryClass: z.string().optional().describe('entryClass for the jar run (Flink); ignored by the engine'),
  programArgs: z.array(z.string()).optional().describe('programArgsList for the jar run'),
  savepointDirectory: z.string().optional().describe('targetDirectory for stop-with-savepoint, e.g. file:/flink/savepoints or s3://bucket/sp'),
  allowNonRestoredState: z.boolean().default(false).describe('allow state that maps to no operator when resubmitting'),
  perVertexOverrides: z.boolean().default(true).describe('send pipeline.jobvertex-parallelism-overrides on resubmit (Flink >= 1.18, the engine)'),
  taskManagerWorkload: z.object({
    kind: z.enum(['Deployment', 'StatefulSet']).default('Deployment'),
    name: z.string().describe('name of the TaskManager Deployment/StatefulSet'),
    namespace: z.string().optional(),
    slotsPerTaskManager: z.number().int().min(1).default(1).describe('to derive TaskManager replicas from parallelism'),
  }).optional().describe('the TaskManager workload scaled in kubernetes-deployment mode'),
  flinkDeployment: z.object({
    name: z.string(), namespace: z.string().optional(),
    kind: z.enum(['FlinkDeployment', 'FlinkSessionJob']).optional().describe('default FlinkDeployment'),
  }).strict().optional()
    .describe('the FlinkDeployment (or FlinkSessionJob) patched in flink-deployment mode'),
}).strict();

export const actuationConfigSchema = z.object({
  mode: z.enum(['in-place', 'savepoint', 'kubernetes-deployment', 'flink-deployment', 'dry-run']).default('dry-run')
    .describe('how decisions are carried out; dry-run only records them'),
  flinkRestUrl: z.string().url().default('http://127.0.0.1:8081').describe('Flink (or engine) REST endpoint'),
  restTimeout: duration().default('10s').describe('timeout of one Flink REST call'),
  journal: z.object({
    kind: z.enum(['file', 'configmap']).default('file').describe('where the intent journal lives'),
    dir: z.string().default('./.flowpilot/journal').describe('directory of the file journal'),
    configMapName: z.string().default('flowpilot-journal').describe('ConfigMap of the Kubernetes journal'),
  }).strict().default({ kind: 'file', dir: './.flowpilot/journal', configMapName: 'flowpilot-journal' }),
  kubernetes: z.object({
    enabled: z.boolean().default(false).describe('use the Kubernetes API (journal, leases, events, scaling)'),
    connection: z.enum(['in-cluster', 'file', 'default']).default('in-cluster'),
    kubeconfig: z.string().optional().describe('kubeconfig path when connection is file'),
    namespace: z.string().optional().describe('namespace; default: the service account\'s or the context\'s'),
    timeout: duration().default('10s').describe('timeout of one Kubernetes API call'),
  }).strict().default({ enabled: false, connection: 'in-cluster', timeout: '10s' }),
  leaderElection: z.object({
    enabled: z.boolean().default(false).describe('elect one leader among agent replicas with a Lease; only it actuates'),
    leaseName: z.string().default('flowpilot-leader'),
    leaseDuration: duration().default('15s').describe('leaseDurationSeconds: how long a silent leader keeps the lease'),
    retryPeriod: duration().default('2s').describe('how often to try to acquire or renew'),
  }).strict().default({ enabled: false, leaseName: 'flowpilot-leader', leaseDuration: '15s', retryPeriod: '2s' }),
  events: z.boolean().default(true).describe('one events.k8s.io Event per action (when Kubernetes is enabled)'),
  timing: z.object({
    verifyTimeout: duration().default('120s').describe('wait for a new parallelism to be RUNNING'),
    savepointTimeout: duration().default('300s').describe('wait for a savepoint or stop to complete'),
    pollInterval: duration().default('1s'),
    conflictRetries: z.number().int().min(1).default(5).describe('attempts for a FlinkDeployment patch hitting 409'),
  }).strict().default({ verifyTimeout: '120s', savepointTimeout: '300s', pollInterval: '1s', conflictRetries: 5 }),
  defaults: jobTarget.default({ allowNonRestoredState: false, perVertexOverrides: true }).describe('settings for jobs without their own entry'),
  jobs: z.record(z.string(), jobTarget).default({}).describe('per job name'),
  periodicSavepoints: z.object({
    enabled: z.boolean().default(false),
    schedule: z.string().default('0 0 * * * *').describe('cron expression (6 fields with seconds, or 5)'),
    targetDirectory: z.string().optional().describe('default: the job\'s savepointDirectory'),
    retain: z.number().int().min(1).default(5).describe('keep the newest N; older local file: savepoints are deleted'),
    timeout: duration().default('10m'),
    jobs: z.array(z.string()).optional().describe('job names; default: every RUNNING job'),
  }).strict().default({ enabled: false, schedule: '0 0 * * * *', retain: 5, timeout: '10m' }),
  recovery: z.object({
    enabled: z.boolean().default(false).describe('resubmit FAILED or vanished jobs from their latest checkpoint'),
    jobs: z.array(z.string()).default([]).describe('job names to watch'),
    maxAttempts: z.number().int().min(1).default(3),
    backoff: duration().default('10s').describe('first pause between attempts; doubles each time'),
    maxBackoff: duration().default('5m'),
  }).strict().default({ enabled: false, jobs: [], maxAttempts: 3, backoff: '10s', maxBackoff: '5m' }),
  faultInjection: z.object({
    crashAfter: z.enum(['off', 'savepoint-triggered', 'stopped', 'submitted']).default('off')
      .describe('FOR TESTS ONLY: exit the process with code 137 right after this journal step is written (crash-resume tests)'),
  }).strict().default({ crashAfter: 'off' }).describe('FOR TESTS ONLY: deterministic crash points; never set in production'),
  memory: z.object({
    overhead: z.number().min(0).max(2).default(0.2).describe('head room over the heap peak'),
    gcPressureMsPerSecond: z.number().min(0).default(100).describe('GC ms per second above which heap is too small'),
    minChangeFraction: z.number().min(0).max(1).default(0.1).describe('smallest change worth a restart'),
    apply: z.boolean().default(false).describe('apply memory advice at the next rescale instead of only reporting it'),
  }).strict().default({ overhead: 0.2, gcPressureMsPerSecond: 100, minChangeFraction: 0.1, apply: false }),
}).strict();

export type ActuationConfig = z.infer<typeof actuationConfigSchema>;
export type JobTargetConfig = z.infer<typeof jobTarget>;

export function parseActuationConfig(raw: unknown, where = 'actuation'): ActuationConfig {
  const r = actuationConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${where}.${i.path.join('.')}: ${i.message}`);
  throw new FlowpilotError('FP_CONFIG_INVALID', `invalid actuation configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
}

/** The settings for one job: its own entry over the defaults. */
export function jobSettings(cfg: ActuationConfig, jobKey: string): JobTargetConfig {
  return { ...cfg.defaults, ...cfg.jobs[jobKey] };
}
