/**
 * `flowpilot up`: start a local engine cluster (1 JobManager, N TaskManagers), submit a sample
 * job, and start the agent, as child processes on 127.0.0.1; Ctrl-C stops them all.
 */
import type { Command } from 'commander';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('up')
    .description('Start a local cluster: a JobManager, TaskManagers, a sample job and the agent, until Ctrl-C.')
    .option('--taskmanagers <n>', 'number of TaskManagers', '2')
    .option('--slots <n>', 'slots per TaskManager', '4')
    .option('--rest-port <port>', 'JobManager REST port', '8081')
    .option('--metrics-port <port>', 'JobManager /metrics port; TaskManagers take the next free ports', '9249')
    .option('--state-dir <dir>', 'directory for state, job modules and job output', './flowpilot-state')
    .option('--job <name>', 'sample job in engine/jobs (word-count, order-enrichment, counting) or a module path; "none" for no job', 'order-enrichment')
    .option('--job-args <args>', 'program arguments for the job (space separated); default: --output <state-dir>/output/<job>')
    .option('--parallelism <n>', 'job parallelism (default: 2, so the agent has room to scale up)')
    .option('--agent-port <port>', 'the agent\'s HTTP API port', '9269')
    .option('--no-agent', 'do not start the agent')
    .option('--dry-run', 'the agent recommends only; by default it rescales the job in place')
    .option('--policy <file>', 'scaling policy file for the agent (docs/reference/scaling-policy.md)')
    .option('--with-prometheus', 'also start Prometheus and Alertmanager (when installed), preconfigured for the engine and the agent')
    .option('--no-live', 'no live status view')
    .option('-D, --define <key=value>', 'configuration option for every engine process (repeatable)', collect)
    .action(async (opts) => {
      const { runUp } = await import('../up/run-up.ts');
      await runUp(opts);
    });
}
