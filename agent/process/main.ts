/**
 * Entry of `flowpilot agent`: merges the YAML config file with the command-line flags (flags
 * win; list flags replace the file's list), validates the result with the config schema, starts
 * the AgentProcess, prints where it listens, and stops it cleanly on SIGTERM/SIGINT.
 */
import { createLogger } from '../../common/log.ts';
import { onShutdown, shutdown } from '../../common/shutdown.ts';
import pkg from '../../package.json' with { type: 'json' };
import { loadAgentConfigFile, parseAgentConfig, type AgentConfig } from './config.ts';
import { hostname } from 'node:os';
import { AgentProcess, type ObservationHandler } from './agent.ts';
import { Autoscaler } from './autoscaler.ts';

export interface AgentFlags {
  config?: string;
  flinkUrl?: string[];
  scrape?: string[];
  rules?: string[];
  alertmanager?: string[];
  webhook?: string[];
  port?: string;
  host?: string;
  record?: string;
  scrapeInterval?: string;
  evalInterval?: string;
  dryRun?: boolean;
  flinkSamples?: boolean;
  policy?: string;
  actuation?: string;
  journal?: string;
  /** Prometheus's query flags, under their Prometheus names. */
  'query.timeout'?: string;
  'query.lookbackDelta'?: string;
  'query.maxSamples'?: string;
  'query.maxConcurrency'?: string;
  'web.config.file'?: string;
  'web.enableLifecycle'?: boolean;
}

type Raw = Record<string, unknown>;

function section(raw: Raw, key: string): Raw {
  const v = raw[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Raw;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

/** `[job=]URL` → a static scrape group. */
function scrapeFlag(spec: string): Raw {
  const m = /^([a-zA-Z_][a-zA-Z0-9_-]*)=(.+)$/.exec(spec);
  return m ? { job: m[1], targets: [m[2]] } : { targets: [spec] };
}

/** Applies the flags on top of the file's raw config, then validates. */
export function resolveConfig(flags: AgentFlags): AgentConfig {
  const raw: Raw = flags.config ? structuredClone(loadAgentConfigFile(flags.config).raw) : {};
  if (flags.flinkUrl?.length) section(raw, 'flink').urls = flags.flinkUrl;
  if (flags.scrape?.length) section(raw, 'scrape').static = flags.scrape.map(scrapeFlag);
  if (flags.scrapeInterval) section(raw, 'scrape').interval = flags.scrapeInterval;
  if (flags.rules?.length) section(raw, 'rules').files = flags.rules;
  if (flags.evalInterval) section(raw, 'rules').evaluationInterval = flags.evalInterval;
  if (flags.alertmanager?.length) section(raw, 'alerting').alertmanagers = flags.alertmanager;
  if (flags.webhook?.length) section(raw, 'alerting').webhooks = flags.webhook;
  if (flags.port !== undefined) section(raw, 'listen').port = Number(flags.port);
  if (flags.host !== undefined) section(raw, 'listen').host = flags.host;
  if (flags.record !== undefined) section(raw, 'record').file = flags.record;
  if (flags.dryRun !== undefined) raw.dryRun = flags.dryRun;
  if (flags.flinkSamples !== undefined) section(raw, 'flink').samples = flags.flinkSamples;
  if (flags.policy !== undefined) section(raw, 'scaling').policyFile = flags.policy;
  if (flags.actuation !== undefined) section(raw, 'actuation').mode = flags.actuation;
  if (flags.journal !== undefined) section(section(raw, 'actuation'), 'journal').dir = flags.journal;
  if (flags['query.timeout'] !== undefined) section(raw, 'query').timeout = flags['query.timeout'];
  if (flags['query.lookbackDelta'] !== undefined) section(raw, 'query').lookbackDelta = flags['query.lookbackDelta'];
  if (flags['query.maxSamples'] !== undefined) section(raw, 'query').maxSamples = Number(flags['query.maxSamples']);
  if (flags['query.maxConcurrency'] !== undefined) section(raw, 'query').maxConcurrency = Number(flags['query.maxConcurrency']);
  if (flags['web.config.file'] !== undefined) section(raw, 'web').configFile = flags['web.config.file'];
  if (flags['web.enableLifecycle'] !== undefined) section(raw, 'web').enableLifecycle = flags['web.enableLifecycle'];
  // Actions go to the cluster the agent collects from, unless the file says otherwise.
  const urls = (raw.flink as Raw | undefined)?.urls;
  const actuation = section(raw, 'actuation');
  if (actuation.flinkRestUrl === undefined && Array.isArray(urls) && typeof urls[0] === 'string') actuation.flinkRestUrl = urls[0];
  return parseAgentConfig(raw, flags.config ? `${flags.config} with command-line flags` : 'command-line flags');
}

/**
 * Runs the agent until SIGTERM/SIGINT, with the autoscaler on its observations unless the
 * caller passes its own handler. The identity (for leases and events) is the pod name in
 * Kubernetes (POD_NAME, set by the chart), else the host name.
 */
export async function runAgent(flags: AgentFlags, onObservation?: ObservationHandler): Promise<AgentProcess> {
  const config = resolveConfig(flags);
  const logger = createLogger({ name: 'flowpilot-agent' });
  let autoscaler: Autoscaler | null = null;
  const agent = new AgentProcess({
    config,
    logger,
    version: pkg.version,
    onObservation: onObservation ?? ((obs, ctx) => autoscaler?.handle(obs, ctx)),
    extraRoutes: (req, res) => (autoscaler ? autoscaler.routes(req, res) : Promise.resolve(false)),
    onQuit: () => void shutdown(0),
  });
  if (!onObservation) {
    autoscaler = new Autoscaler(config, { registry: agent.registry, logger, identity: process.env.POD_NAME ?? hostname(), flink: agent.flinkClient(config.actuation.flinkRestUrl) });
    await autoscaler.start();
  }
  onShutdown(async () => {
    // The autoscaler first: its actions in flight use the agent's Flink client, which agent.stop() closes.
    await autoscaler?.stop();
    await agent.stop();
  });
  await agent.start();
  process.stdout.write(`flowpilot agent listening on ${agent.scheme}://${config.listen.host}:${agent.port}\n`);
  return agent;
}
