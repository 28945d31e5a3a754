/**
 * `flowpilot agent`: runs the observability and autoscaling agent (collect Flink REST metrics and
 * Prometheus targets, store, evaluate rules, send alerts, serve the Prometheus HTTP API). Its
 * flags are generated from the agent's config schema (agent/process/flags.ts), one per key,
 * loaded only when this command runs or shows its help; the implementation is loaded inside the
 * action.
 */
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { ConfigCommand, refuseUnknown } from '../config-options.ts';

const require = createRequire(import.meta.url);
const loadAgentFlags = () => (require('../../agent/process/flags.ts') as typeof import('../../agent/process/flags.ts')).agentFlags();

export function register(program: Command): void {
  const cmd = new ConfigCommand('agent', loadAgentFlags);
  program.addCommand(cmd.copyInheritedSettings(program));
  cmd
    .description('Run the agent: collect from Flink REST and Prometheus targets, evaluate rules, alert, serve a Prometheus-compatible API')
    .option('--config <file>', 'YAML config file (see docs/reference/agent.md); flags override it')
    .action(async (opts: Record<string, unknown>) => {
      refuseUnknown(cmd, cmd.configFlags());
      const { runAgent } = await import('../../agent/process/main.ts');
      await runAgent(opts);
    });
}
