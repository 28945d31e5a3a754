/**
 * `flowpilot agent`: runs the observability and autoscaling agent (collect Flink REST metrics and
 * Prometheus targets, store, evaluate rules, send alerts, serve the Prometheus HTTP API). Its
 * flags are generated from the agent's config schema (agent/process/flags.ts), one per key; the
 * implementation is loaded lazily inside the action.
 */
import type { Command } from 'commander';
import { agentFlags } from '../../agent/process/flags.ts';
import { addConfigOptions, refuseUnknown } from '../config-options.ts';

export function register(program: Command): void {
  const cmd = program
    .command('agent')
    .description('Run the agent: collect from Flink REST and Prometheus targets, evaluate rules, alert, serve a Prometheus-compatible API')
    .option('--config <file>', 'YAML config file (see docs/reference/agent.md); flags override it');
  addConfigOptions(cmd, agentFlags());
  cmd.action(async (opts: Record<string, unknown>, self: Command) => {
    refuseUnknown(self, agentFlags());
    const { runAgent } = await import('../../agent/process/main.ts');
    await runAgent(opts);
  });
}
