/**
 * The agent's configuration: one zod schema that gives every option its type, default and
 * description. It validates the YAML file (`--config FILE`), generates the CLI flags that go on
 * top (one per leaf key, agent/process/flags.ts), and feeds the reference in
 * docs/reference/agent.md (`configReference()` renders it, with each key's flag). Durations are written as
 * Prometheus durations (`15s`, `2h`) and held in milliseconds. Nothing here reads process.env.
 */
import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter } from 'yaml';
import { z } from 'zod';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { parsePromDuration } from '../../common/duration.ts';
import { DURATION_FORMAT, flagOf } from '../../common/schema-flags.ts';
import { actuationConfigSchema } from '../actuate/config.ts';
import { httpConfigSchema } from '../http/http-config.ts';

/** The default port: outside Flink's usual reporter range (9249–9260) and Prometheus's 9090. */
export const DEFAULT_PORT = 9269;

/** Turns a Prometheus duration string into milliseconds, as a zod issue on failure. */
function toMs(s: string, ctx: z.RefinementCtx): number {
  try {
    return parsePromDuration(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration: ${errorMessage(err)}` });
    return z.NEVER;
  }
}

function duration(def: string, description: string) {
  return z
    .string()
    .meta({ format: DURATION_FORMAT })
    .default(def)
    .describe(`${description} (duration, default ${def})`)
    .transform(toMs);
}

function optionalDuration(description: string) {
  return z
    .string()
    .meta({ format: DURATION_FORMAT })
    .optional()
    .describe(`${description} (duration)`)
    .transform((s, ctx) => (s === undefined ? undefined : toMs(s, ctx)));
}

/** An http_config, one row in the reference (its fields are Prometheus's, listed in docs/guide/access-control.md). */
function httpConfig(description: string) {
  return z.lazy(() => httpConfigSchema).optional().describe(description);
}

const staticScrapeSchema = z
  .object({
    job: z.string().min(1).default('flink').describe('the `job` label of these targets'),
    targets: z.array(z.string().min(1)).min(1).describe('host:port, or full URLs (http://host:port/path)'),
    path: z.string().default('/metrics').describe('metrics path for host:port targets'),
    scheme: z.enum(['http', 'https']).default('http').describe('scheme for host:port targets'),
    labels: z.record(z.string(), z.string()).default({}).describe('extra target labels'),
    honorLabels: z.boolean().default(false).describe("Prometheus's honor_labels: keep the scraped job/instance on a clash"),
    interval: optionalDuration('overrides scrape.interval for these targets'),
  })
  .strict();

const kubernetesScrapeSchema = z
  .object({
    job: z.string().min(1).default('kubernetes-pods').describe('the `job` label of discovered pods'),
    namespaces: z.array(z.string()).default([]).describe('namespaces to search; empty means all'),
    labelSelector: z.string().optional().describe('Kubernetes label selector, e.g. app=flink'),
    refreshInterval: duration('30s', 'how often the pod list is refreshed (a watch refreshes it sooner)'),
    honorLabels: z.boolean().default(false).describe("Prometheus's honor_labels"),
  })
  .strict();

/** Fleet mode (docs/guide/fleet.md): discovery, sharding, and the per-job bounds. */
const fleetConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('watch FlinkDeployments and FlinkSessionJobs annotated or labelled flowpilot.io/autoscale: "true" and autoscale each one (needs the Kubernetes connection of actuation.kubernetes)'),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(40).default('flowpilot').describe('prefix of the fleet\'s Leases and state ConfigMaps; replicas with the same name share the fleet'),
    namespaces: z.array(z.string()).default([]).describe('namespaces to watch; empty means all'),
    identity: z.string().optional().describe('this replica\'s identity in the member Leases; default the POD_NAME environment variable, else the host name'),
    leaseDuration: duration('15s', 'how long a silent replica keeps its member Lease and its jobs\' Leases; its jobs move to another replica within this plus one renew period'),
    renewInterval: duration('2s', 'how often a replica renews its Leases and re-reads membership'),
    resync: duration('1m', 'how often every watched resource is evaluated again (besides the watch events)'),
    policyRefresh: duration('30s', 'how often a job\'s policy ConfigMap (flowpilot.io/policy) is read again'),
    endpointConcurrency: z.number().int().min(1).default(2).describe('collections in flight at once per Flink REST endpoint (a session cluster serves many jobs)'),
    maxJobs: z.number().int().min(1).default(1000).describe('most jobs one replica manages; more opted-in resources are listed as over-limit and not autoscaled'),
    state: z
      .object({
        perJobBytes: z.number().int().min(16_384).default(65_536).describe('bound on one job\'s saved autoscaler state (gzip+base64)'),
        totalBytes: z.number().int().min(16_384).default(64 * 1024 * 1024).describe('bound on the saved state of all jobs of a replica: each job gets min(perJobBytes, totalBytes / jobs)'),
      })
      .strict()
      .prefault({})
      .describe('per-job state in one ConfigMap per job (<name>-state-<uid>), beside the job\'s intent journal record'),
    history: z
      .object({
        perJob: z.number().int().min(1).default(100).describe('decisions kept in memory per job (for /api/v1/scaling/decisions and explain)'),
        total: z.number().int().min(1).default(50_000).describe('decisions kept in memory over all jobs: each job keeps min(perJob, total / jobs)'),
      })
      .strict()
      .prefault({})
      .describe('the decision history per job'),
  })
  .strict();

export const agentConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default('127.0.0.1').describe('address the HTTP API binds to (0.0.0.0 in a pod)'),
        port: z.number().int().min(0).max(65535).default(DEFAULT_PORT).describe('HTTP API port; 0 picks a free one'),
      })
      .strict()
      .prefault({})
      .describe('the HTTP API (Prometheus-compatible /api/v1, /metrics, /healthz, /readyz)'),
    web: z
      .object({
        configFile: z.string().optional().describe("Prometheus's --web.config.file: TLS, client certificates and basic auth for the HTTP API (docs/guide/access-control.md)"),
        enableLifecycle: z.boolean().default(false).describe("Prometheus's --web.enable-lifecycle: allow POST /-/reload and /-/quit"),
      })
      .strict()
      .prefault({})
      .describe('access control of the HTTP API'),
    flink: z
      .object({
        urls: z.array(z.url()).default([]).describe('Flink REST endpoints (JobManager :8081) to collect from'),
        job: z.string().default('flink').describe('the `job` label of REST-collected samples'),
        interval: optionalDuration('overrides scrape.interval for the REST collector'),
        timeout: duration('10s', 'per-request timeout for Flink REST calls'),
        samples: z
          .boolean()
          .default(true)
          .describe('store REST figures as samples under the reporter names; false when the same cluster\'s reporter endpoints are scraped too (observations only, no duplicate series)'),
        perSubtaskMetrics: z.boolean().default(true).describe('read task and operator metrics per subtask (series with subtask_index); only with samples'),
        concurrency: z.number().int().min(1).default(8).describe('Flink REST requests in flight at once'),
        httpConfig: httpConfig("Prometheus's http_config for Flink REST: tls_config, basic_auth, authorization (docs/guide/access-control.md)"),
      })
      .strict()
      .prefault({})
      .describe('the Flink REST collector'),
    scrape: z
      .object({
        interval: duration('15s', 'default scrape interval'),
        timeout: duration('10s', 'scrape timeout (capped at the interval)'),
        maxBackoff: duration('2m', 'longest wait between attempts at a failing target'),
        self: z.boolean().default(true).describe('keep the agent\'s own metrics in its store (job="flowpilot-agent"), as Prometheus scrapes itself, so its query API serves the flowpilot_* series'),
        static: z.array(staticScrapeSchema).default([]).describe('static Prometheus scrape targets'),
        kubernetes: z.array(kubernetesScrapeSchema).default([]).describe('pods found by label selector and prometheus.io/* annotations'),
        kubeconfig: z.string().optional().describe('kubeconfig file for pod discovery; default: in-cluster, then ~/.kube/config'),
      })
      .strict()
      .prefault({})
      .describe('Prometheus scraping'),
    rules: z
      .object({
        files: z.array(z.string()).default([]).describe('rule files, directories or globs (Prometheus rule-file format)'),
        evaluationInterval: duration('15s', 'default evaluation interval of rule groups'),
        watch: z.boolean().default(true).describe('reload when a rule file changes (also on SIGHUP, and on POST /-/reload with web.enableLifecycle)'),
        externalLabels: z.record(z.string(), z.string()).default({}).describe('labels added to every alert sent'),
        externalUrl: z.string().default('').describe('base of alert generator URLs; default http://<listen>'),
        maxFileBytes: z.number().int().min(1).default(8 * 1024 * 1024).describe('largest rule file read, in bytes; a larger one fails the reload (the last good rules stay)'),
        maxReloadBytes: z.number().int().min(1).default(64 * 1024 * 1024).describe('largest sum of rule files one reload reads, in bytes'),
      })
      .strict()
      .prefault({})
      .describe('alerting and recording rules'),
    alerting: z
      .object({
        alertmanagers: z.array(z.url()).default([]).describe('Alertmanager base URLs (API v2)'),
        webhooks: z.array(z.url()).default([]).describe('webhook URLs that receive alert batches as JSON'),
        timeout: duration('10s', 'per-attempt timeout when sending alerts'),
        httpConfig: httpConfig("Prometheus's http_config for the Alertmanagers: tls_config, basic_auth, authorization (docs/guide/access-control.md)"),
        webhookHttpConfig: httpConfig("Prometheus's http_config for the webhooks (kept apart from the Alertmanagers' credentials)"),
      })
      .strict()
      .prefault({})
      .describe('where alerts go'),
    storage: z
      .object({
        retention: duration('2h', 'how long samples are kept in memory'),
        maxSeries: z.number().int().min(1).default(1_000_000).describe('series limit; new series beyond it are dropped and counted'),
      })
      .strict()
      .prefault({})
      .describe('the in-memory time-series store'),
    query: z
      .object({
        timeout: duration('2m', 'longest a query may run, checked inside evaluation'),
        lookbackDelta: duration('5m', 'how far back an instant selector looks'),
        maxSamples: z.number().int().min(1).default(50_000_000).describe('most samples one query may load into memory'),
        maxConcurrency: z.number().int().min(1).default(20).describe('API queries evaluated at once; more wait in a queue, within their timeout'),
        ruleTimeout: duration('1s', "longest one rule's query may run; rules are evaluated on the agent's main thread, so a rule past it fails (health err) instead of stalling scrapes and scaling"),
      })
      .strict()
      .prefault({})
      .describe('PromQL'),
    record: z
      .object({ file: z.string().optional().describe('append each JobObservation as one JSON line (docs/reference/replay.md)') })
      .strict()
      .prefault({})
      .describe('observation recording for replay'),
    scaling: z
      .object({
        policyFile: z.string().optional().describe('the scaling policy (YAML, docs/reference/scaling-policy.md); default: the built-in policy'),
        operatorKeys: z.boolean().default(true).describe('read job.autoscaler.* from each configured FlinkDeployment\'s flinkConfiguration under the policy file (docs/guide/migrating-from-the-operator-autoscaler.md)'),
        state: z
          .object({
            enabled: z.boolean().default(true).describe('save the autoscaler state (history, restart cost, fits, forecast, cool-downs) beside the intent journal'),
            maxBytes: z.number().int().min(16_384).default(262_144).describe('bound on one job\'s saved state (gzip+base64); older samples are trimmed first'),
            saveInterval: duration('30s', 'save at least this often; a rescale or a learned restart cost is saved at once'),
          })
          .strict()
          .prefault({})
          .describe('the autoscaler state store'),
      })
      .strict()
      .prefault({})
      .describe('the autoscaler\'s decisions'),
    fleet: fleetConfigSchema.prefault({}).describe('fleet mode: autoscale every opted-in FlinkDeployment and FlinkSessionJob, sharded across replicas (docs/guide/fleet.md)'),
    actuation: actuationConfigSchema.prefault({}).describe('how decisions are carried out (docs/reference/actuation.md); dryRun overrides the mode'),
    dryRun: z.boolean().default(true).describe('recommend only: never act on the cluster'),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

function lineCol(text: string, offset: number): string {
  const lc = new LineCounter();
  let pos = 0;
  for (const line of text.split('\n')) {
    lc.addNewLine(pos);
    pos += line.length + 1;
  }
  const p = lc.linePos(offset);
  return `${p.line}:${p.col}`;
}

/** Validates a raw config object; `where` names it in errors. */
export function parseAgentConfig(raw: unknown, where = 'config', text?: string, doc?: ReturnType<typeof parseDocument>): AgentConfig {
  const res = agentConfigSchema.safeParse(raw ?? {});
  if (res.success) return res.data;
  const issue = res.error.issues[0]!;
  const path = issue.path.map(String);
  let loc = where;
  if (doc && text !== undefined) {
    const node = doc.getIn(path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)), true) as { range?: [number, number, number] } | undefined;
    const parentNode = doc.getIn(path.slice(0, -1).map((p) => (/^\d+$/.test(p) ? Number(p) : p)), true) as { range?: [number, number, number] } | undefined;
    const range = node?.range ?? parentNode?.range;
    if (range) loc = `${where}:${lineCol(text, range[0])}`;
  }
  throw new FlowpilotError('FP_AGENT_CONFIG', `${loc}: ${path.join('.') || '(root)'}: ${issue.message}; see docs/reference/agent.md for the options`);
}

/** Reads and validates a YAML config file. */
export function loadAgentConfigFile(file: string): { raw: Record<string, unknown>; config: AgentConfig } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlowpilotError('FP_AGENT_CONFIG', `cannot read the config file ${file}: ${errorMessage(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new FlowpilotError('FP_AGENT_CONFIG', `${file}:${e.linePos?.[0]?.line ?? 0}:${e.linePos?.[0]?.col ?? 0}: ${e.message.split('\n')[0]}`);
  }
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  return { raw, config: parseAgentConfig(raw, file, text, doc) };
}

interface SchemaLike {
  description?: string;
  def?: { type?: string; innerType?: SchemaLike; in?: SchemaLike; shape?: Record<string, SchemaLike>; element?: SchemaLike; defaultValue?: unknown };
  _zod?: { def: SchemaLike['def'] };
}

/**
 * Renders the schema as a Markdown table: key, its command-line flag, description (with default).
 * Used for docs/reference/agent.md. Keys inside lists of objects have no flag of their own (the
 * list's flag takes YAML).
 */
export function configReference(): string {
  const rows: string[] = ['| key | flag | description |', '| --- | --- | --- |'];
  const walk = (schema: unknown, prefix: string, isElement = false): void => {
    const s = schema as SchemaLike;
    let def = s._zod?.def ?? s.def;
    let description = (schema as { description?: string }).description;
    let defaultValue: unknown;
    // Unwrap default / pipe / optional layers, keeping the first description and default seen.
    for (let i = 0; i < 6 && def; i++) {
      if (def.type === 'default' || def.type === 'prefault') defaultValue ??= def.defaultValue;
      const inner = def.innerType ?? def.in;
      if (!inner || (def.type !== 'default' && def.type !== 'prefault' && def.type !== 'pipe' && def.type !== 'optional')) break;
      description ??= (inner as { description?: string }).description;
      def = (inner as SchemaLike)._zod?.def ?? (inner as SchemaLike).def;
    }
    if (def?.type === 'object' && def.shape) {
      if (prefix && !isElement) rows.push(`| \`${prefix}\` | | ${description ?? ''} |`);
      for (const [k, v] of Object.entries(def.shape)) walk(v, prefix ? `${prefix}.${k}` : k);
      return;
    }
    if (def?.type === 'array' && def.element && ((def.element._zod?.def ?? def.element.def)?.type === 'object')) {
      rows.push(`| \`${prefix}[]\` | \`${flagOf(prefix.split('.'))}\` | ${description ?? ''} |`);
      walk(def.element, `${prefix}[]`, true);
      return;
    }
    const shown = defaultValue === undefined || (typeof description === 'string' && description.includes('default ')) ? '' : ` (default \`${JSON.stringify(defaultValue)}\`)`;
    const flag = prefix.includes('[]') ? '' : `\`${flagOf(prefix.split('.'))}\``;
    rows.push(`| \`${prefix}\` | ${flag} | ${(description ?? '').replace(/\|/g, '\\|')}${shown} |`);
  };
  walk(agentConfigSchema, '');
  return rows.join('\n');
}

// `node agent/process/config.ts` prints the reference table that docs/reference/agent.md embeds.
if (import.meta.main) process.stdout.write(`${configReference()}\n`);
