/**
 * Typed configuration for the engine's processes. One zod schema per process type holds every
 * option under Flink's key name where Flink has one (heartbeat.timeout, taskmanager.numberOfTaskSlots,
 * restart-strategy.*, execution.buffer-timeout, ...), with its default and a description that
 * feeds `--help` and docs/design/engine-runtime.md. Values arrive as strings or numbers (CLI flags,
 * `-D key=value`, job config) and are coerced and validated here, never read from process.env
 * deeper in the code.
 */
import { z } from 'zod';
import { parseFlinkDuration } from '../../common/duration.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { parseMemorySize } from '../../common/memory-size.ts';
import type { DebloatSettings } from '../network/buffer-debloater.ts';

/**
 * A Flink duration option (`10 s`, `5 min`, `500 ms`, or a bare number of milliseconds, read by
 * common/duration.ts) in whole milliseconds, as Flink's Duration.toMillis() (µs and ns truncate).
 */
export const flinkDurationMs = () =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return Math.floor(parseFlinkDuration(v));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err) });
      return z.NEVER;
    }
  });

const ms = (def: number, min = 0) => flinkDurationMs().pipe(z.number().int().min(min)).default(def);
/** A Flink memory size option ("32kb", "1 mb", a bare number of bytes), in bytes. */
const bytes = (def: number, min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parseMemorySize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err) });
      return z.NEVER;
    }
  }).pipe(z.number().int().min(min).max(max)).default(def);
const count = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);
/** A job-scope option set on the cluster: kept as given (a string) and checked when the JobManager starts. */
const jobDefault = (description: string) => z.union([z.string(), z.number()]).transform(String).optional().describe(description);
const bool = (def: boolean) => z.union([z.boolean(), z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False']).transform((v) => v.toLowerCase() === 'true')]).default(def);

/** Options shared by both process types: heartbeats, restarts, network and metric views. */
const common = {
  'heartbeat.interval': ms(1000, 10).describe('How often a TaskManager sends a heartbeat (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'heartbeat.timeout': ms(10_000, 100).describe('A TaskManager that has not sent a heartbeat for this long is lost (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'rpc.ask-timeout': ms(10_000, 100).describe('Timeout for an RPC request and its answer (a Flink duration, e.g. 10 s; a bare number is ms); Flink: akka.ask.timeout.'),
  'execution.buffer-timeout': ms(100, 0).describe('A partly filled output batch is sent after this long (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'taskmanager.network.batch-size': count(4096).describe('Records per network batch before it is sent without waiting (at most; a batch to another TaskManager also closes at taskmanager.memory.segment-size).'),
  'taskmanager.memory.segment-size': bytes(32 * 1024, 256, 64 * 1024 * 1024).describe('Bytes of a network buffer (Flink\'s key and default, 32kb; a memory size, e.g. 64 kb): a batch to another TaskManager closes once its records would take about this much on the wire, so one credit stands for one such buffer.'),
  'taskmanager.network.memory.buffers-per-channel': count(4).describe('Batches a receiving channel can hold; its credit.'),
  'taskmanager.network.memory.buffer-debloat.enabled': z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true).describe('Size network batches to each consumer\'s throughput so its buffered input takes about the target to process (on by default here; off in Flink).'),
  'taskmanager.network.memory.buffer-debloat.target': ms(1000, 1).describe('Time a consumer\'s buffered input should take to process (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'taskmanager.network.memory.buffer-debloat.period': ms(200, 10).describe('How often the batch size is recomputed (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'taskmanager.network.memory.buffer-debloat.samples': count(20).describe('Periods in the moving average of the throughput.'),
  'taskmanager.network.memory.buffer-debloat.threshold-percentages': count(25, 0).describe('A new batch size is announced only when it differs by more than this percentage.'),
  'taskmanager.network.memory.buffer-debloat.min-batch': count(16).describe('Smallest batch size (records) debloating announces.'),
  'metrics.view.update-interval': ms(5000, 10).describe('How often per-second rates (meters, time gauges) are updated (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'metrics.view.window': ms(60_000, 10).describe('Window over which per-second rates are averaged (a Flink duration, e.g. 10 s; a bare number is ms), as Flink MeterView.'),
};

export const jobManagerSchema = z.object({
  ...common,
  'jobmanager.rpc.address': z.string().default('127.0.0.1').describe('Address the RPC port binds to.'),
  'jobmanager.rpc.port': z.coerce.number().int().min(0).max(65535).default(6123).describe('RPC port TaskManagers connect to.'),
  'rest.address': z.string().default('127.0.0.1').describe('Address the REST API binds to.'),
  'rest.port': z.coerce.number().int().min(0).max(65535).default(8081).describe('REST API port.'),
  'rest.bind-address': z.string().optional().describe('Address the REST server binds to (e.g. 0.0.0.0 for every interface); default rest.address. Flink binds every interface when unset; flowpilot keeps to rest.address.'),
  'web.submit.enable': bool(true).describe('Serve the job module upload and run endpoints (/jars/...). Off: they answer 404 "Not found", as Flink when web submission is disabled. An uploaded module runs code in the cluster, as a Flink jar does.'),
  'web.cancel.enable': bool(true).describe('Serve job cancellation (PATCH /jobs/:jobid). Off: 404 "Not found" (Flink only hides the web UI\'s cancel button; flowpilot has no UI, so the switch removes the handler).'),
  'web.rescale.enable': bool(true).describe('Serve PUT /jobs/:jobid/resource-requirements (in-place rescale). Off: 404 "Not found" (Flink only hides the web UI\'s rescale controls).'),
  'security.ssl.rest.enabled': bool(false).describe('Serve the REST API over TLS (https).'),
  'security.ssl.rest.authentication-enabled': bool(false).describe('Mutual TLS: clients must present a certificate signed by a CA in security.ssl.rest.truststore.'),
  'security.ssl.rest.keystore': z.string().optional().describe('PEM file with the server\'s private key and certificate chain, or several comma-separated PEM files read in order (e.g. tls.key,tls.crt of a kubernetes.io/tls Secret). Flink: a JKS/PKCS12 keystore; flowpilot reads PEM.'),
  'security.ssl.rest.key-password': z.string().optional().describe('Passphrase of an encrypted private key in the keystore PEM (Flink: the key password).'),
  'security.ssl.rest.keystore-password': z.string().optional().describe('Accepted for Flink compatibility; used as the key passphrase when security.ssl.rest.key-password is not set.'),
  'security.ssl.rest.truststore': z.string().optional().describe('PEM file(s), comma-separated, of the CA certificates client certificates must chain to (mutual TLS).'),
  'security.ssl.rest.truststore-password': z.string().optional().describe('Accepted for Flink compatibility; a PEM truststore has no password.'),
  'security.ssl.rest.keystore-type': z.enum(['PEM', 'pem']).default('PEM').describe('Only PEM (Flink: JKS or PKCS12).'),
  'security.ssl.rest.truststore-type': z.enum(['PEM', 'pem']).default('PEM').describe('Only PEM (Flink: JKS or PKCS12).'),
  'security.ssl.protocol': z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Lowest TLS version accepted.'),
  'metrics.reporter.prom.host': z.string().default('127.0.0.1').describe('Address /metrics binds to.'),
  'metrics.reporter.prom.port': z.coerce.number().int().min(0).max(65535).default(9249).describe('Port of /metrics, /healthz, /readyz.'),
  'state.dir': z.string().default('./flowpilot-state/jobmanager').describe('Directory for uploaded job modules and checkpoints.'),
  'flowpilot.savepoint.allowed-roots': z.string().default('').describe('Comma-separated directories that savepoint targets and restore paths must lie under (after `..` and symlinks are resolved). Empty: state.dir and state.savepoints.dir only (never the working directory).'),
  'state.savepoints.dir': z.string().optional().describe('Cluster default savepoint directory when a request names none (default <state.dir>/savepoints).'),
  // Job-scope options given to the cluster (-D or flinkConfiguration) are every job's defaults, as in
  // Flink, where a job's configuration starts from the cluster's; the job's own values win.
  'execution.checkpointing.interval': jobDefault('Cluster default for jobs that set no checkpoint interval (Flink duration, e.g. 10s); checkpointing is off when neither sets it.'),
  'execution.checkpointing.timeout': jobDefault('Cluster default of execution.checkpointing.timeout for jobs.'),
  'execution.checkpointing.min-pause': jobDefault('Cluster default of execution.checkpointing.min-pause for jobs.'),
  'execution.checkpointing.mode': jobDefault('Cluster default of execution.checkpointing.mode for jobs.'),
  'execution.checkpointing.tolerable-failed-checkpoints': jobDefault('Cluster default of execution.checkpointing.tolerable-failed-checkpoints for jobs.'),
  'execution.checkpointing.externalized-checkpoint-retention': jobDefault('Cluster default of execution.checkpointing.externalized-checkpoint-retention for jobs.'),
  'state.storage.fs.memory-threshold': jobDefault('Cluster default of state.storage.fs.memory-threshold for jobs (a memory size, default 20kb): smaller subtask state is stored inline in _metadata.'),
  'restart-strategy.type': z.enum(['fixed-delay', 'none', 'disable', 'exponential-delay']).default('fixed-delay').describe('Restart strategy after a failure.'),
  'restart-strategy.fixed-delay.attempts': count(2147483647, 0).describe('Restarts before the job fails (fixed-delay).'),
  'restart-strategy.fixed-delay.delay': ms(1000).describe('Pause before each restart (a Flink duration, a bare number is ms; fixed-delay).'),
  'restart-strategy.exponential-delay.initial-backoff': ms(1000).describe('First pause (a Flink duration, a bare number is ms; exponential-delay).'),
  'restart-strategy.exponential-delay.max-backoff': ms(60_000).describe('Largest pause (a Flink duration, a bare number is ms; exponential-delay).'),
  'restart-strategy.exponential-delay.backoff-multiplier': z.coerce.number().min(1).default(1.5).describe('Growth factor of the pause.'),
  'restart-strategy.exponential-delay.attempts-before-reset-backoff': count(2147483647, 0).describe('Restarts before the job fails (exponential-delay).'),
  'parallelism.default': count(1).describe('Parallelism of operators that set none.'),
  'jobmanager.job-dirs': z.string().default('').describe('Comma-separated directories of job modules besides engine/jobs: an uploaded module with the same content as one there is imported from there (so its relative imports resolve).'),
  'scheduler-mode': z.enum(['default', 'reactive']).default('default').describe('reactive: TaskManagers joining or leaving rescale running jobs in place to the available slots (up to their upper bounds).'),
  'jobmanager.adaptive-scheduler.resource-stabilization-timeout': ms(10_000, 0).describe('Reactive mode waits this long (a Flink duration, e.g. 10 s; a bare number is ms) after the last TaskManager change before rescaling.'),
  'slot.request.timeout': ms(300_000, 100).describe('A job that cannot get its slots for this long fails (a Flink duration, e.g. 10 s; a bare number is ms).'),
  'high-availability.type': z.string().default('none').describe('JobManager HA services: none, filesystem (job graphs, checkpoint pointers and counters under high-availability.storageDir) or kubernetes (the same in ConfigMaps, blobs in the storage dir). A restarted JobManager recovers every job from its latest checkpoint.'),
  'high-availability.storageDir': z.string().optional().describe('Where HA metadata and job graph blobs go (required when high-availability.type is not none); shared storage in a cluster.'),
  'high-availability.cluster-id': z.string().default('flowpilot').describe('Names this cluster\'s HA data (a sub-directory of the storage dir; the ConfigMaps\' prefix). kubernetes.cluster-id wins when set.'),
  'kubernetes.cluster-id': z.string().optional().describe('Kubernetes HA: the cluster id ConfigMaps are named after.'),
  'kubernetes.namespace': z.string().optional().describe('Kubernetes HA: the namespace of the HA ConfigMaps (default: the pod\'s namespace, else "default").'),
});

export const taskManagerSchema = z.object({
  ...common,
  'jobmanager.address': z.string().default('127.0.0.1:6123').describe('HOST:PORT of the JobManager RPC endpoint.'),
  'taskmanager.host': z.string().default('127.0.0.1').describe('Address this TaskManager binds and advertises.'),
  'taskmanager.data.port': z.coerce.number().int().min(0).max(65535).default(0).describe('Port for data connections from other TaskManagers (0 = any free port).'),
  'taskmanager.numberOfTaskSlots': count(1).describe('Slots this TaskManager offers.'),
  'taskmanager.resource-id': z.string().optional().describe('TaskManager id; default "<host>:<dataPort>-<6 hex>".'),
  'metrics.reporter.prom.host': z.string().default('127.0.0.1').describe('Address /metrics binds to.'),
  'metrics.reporter.prom.port': z.coerce.number().int().min(0).max(65535).default(0).describe('Port of /metrics (0 = any free port, logged).'),
  'taskmanager.state.dir': z.string().default('./flowpilot-state/taskmanager').describe('Directory for job modules and local state.'),
  'taskmanager.registration.timeout': ms(300_000, 100).describe('Give up when the JobManager cannot be reached for this long (a Flink duration, e.g. 10 s; a bare number is ms).'),
});

export type JobManagerConfig = z.infer<typeof jobManagerSchema>;
export type TaskManagerConfig = z.infer<typeof taskManagerSchema>;
export type RuntimeOptions = Pick<JobManagerConfig, keyof typeof common>;

/** The task executors' buffer-debloating settings from `taskmanager.network.memory.buffer-debloat.*` (null when off). */
export function debloatOptions(c: RuntimeOptions): DebloatSettings | null {
  if (!c['taskmanager.network.memory.buffer-debloat.enabled']) return null;
  return {
    targetMs: c['taskmanager.network.memory.buffer-debloat.target'],
    periodMs: c['taskmanager.network.memory.buffer-debloat.period'],
    samples: c['taskmanager.network.memory.buffer-debloat.samples'],
    thresholdPercent: c['taskmanager.network.memory.buffer-debloat.threshold-percentages'],
    minBatch: c['taskmanager.network.memory.buffer-debloat.min-batch'],
  };
}

function parseWith<S extends z.ZodType>(schema: S, input: Record<string, unknown>, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FlowpilotError('FP_ENGINE_CONFIG', `invalid ${what} configuration: ${issues}`, { details: { issues: result.error.issues } });
  }
  return result.data;
}

export function parseJobManagerConfig(input: Record<string, unknown> = {}): JobManagerConfig {
  return parseWith(jobManagerSchema, dropUndefined(input), 'JobManager');
}

export function parseTaskManagerConfig(input: Record<string, unknown> = {}): TaskManagerConfig {
  return parseWith(taskManagerSchema, dropUndefined(input), 'TaskManager');
}

/** Parses `-D key=value` pairs as Flink's CLI does. */
export function parseDynamicProperties(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new FlowpilotError('FP_ENGINE_CONFIG', `bad -D option "${pair}": expected key=value`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** Every option with its default and description, for docs and `--help`. */
export function describeOptions(schema: z.ZodObject): Array<{ key: string; default: unknown; description: string }> {
  const rows: Array<{ key: string; default: unknown; description: string }> = [];
  const parsed = schema.safeParse({});
  const defaults = (parsed.success ? parsed.data : {}) as Record<string, unknown>;
  for (const [key, field] of Object.entries(schema.shape)) {
    rows.push({ key, default: defaults[key], description: (field as z.ZodType).description ?? '' });
  }
  return rows;
}

function dropUndefined(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  return out;
}

/** The job-scope options of a JobManager configuration (the defaults every job's configuration starts from). */
export const JOB_SCOPE_KEYS = [
  'execution.checkpointing.interval',
  'execution.checkpointing.timeout',
  'execution.checkpointing.min-pause',
  'execution.checkpointing.mode',
  'execution.checkpointing.tolerable-failed-checkpoints',
  'execution.checkpointing.externalized-checkpoint-retention',
  'state.storage.fs.memory-threshold',
] as const satisfies ReadonlyArray<keyof JobManagerConfig>;
