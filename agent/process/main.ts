/**
 * Entry of `flowpilot agent`: merges the YAML config file with the command-line flags generated
 * from the schema (flags win; list flags replace the file's list), validates the result, starts
 * the AgentProcess, prints where it listens, and stops it cleanly on SIGTERM/SIGINT.
 */
import { createLogger } from '../../common/log.ts';
import { onShutdown, shutdown } from '../../common/shutdown.ts';
import pkg from '../../package.json' with { type: 'json' };
import { applyFlags } from '../../common/schema-flags.ts';
import { loadAgentConfigFile, parseAgentConfig, type AgentConfig } from './config.ts';
import { agentFlags } from './flags.ts';
import { hostname } from 'node:os';
import { AgentProcess, type ObservationHandler } from './agent.ts';
import { Autoscaler } from './autoscaler.ts';

/**
 * The command-line values, keyed as commander stores them (`flinkUrl`, `scrape.interval`,
 * `web.enableLifecycle`): `config` names the file, every other key is a flag of agentFlags().
 */
export type AgentFlags = { config?: string } & Record<string, unknown>;

type Raw = Record<string, unknown>;

/**
 * Precedence: schema defaults < the config file < command-line flags (list flags replace the
 * file's list). The agent reads no environment variables for its config.
 */
export function resolveConfig(flags: AgentFlags): AgentConfig {
  const raw: Raw = flags.config ? structuredClone(loadAgentConfigFile(flags.config).raw) : {};
  applyFlags(raw, agentFlags(), flags);
  // Actions go to the cluster the agent collects from, unless the file says otherwise.
  const urls = (raw.flink as Raw | undefined)?.urls;
  const actuation = (raw.actuation ??= {}) as Raw;
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
  if (config.fleet.enabled && !onObservation) {
    // Fleet mode: every opted-in FlinkDeployment/FlinkSessionJob gets its own pipeline (docs/guide/fleet.md).
    const { startFleetAgent } = await import('./fleet.ts');
    const f = await startFleetAgent(config, logger, { version: pkg.version, identity: process.env.POD_NAME ?? hostname(), onQuit: () => void shutdown(0) });
    onShutdown(() => f.stop());
    process.stdout.write(`flowpilot agent (fleet mode, replica ${f.fleet.identity}) listening on ${f.agent.scheme}://${config.listen.host}:${f.agent.port}\n`);
    return f.agent;
  }
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
