/**
 * `flowpilot engine jobmanager|taskmanager`: the engine's two process types. Implementations
 * are imported lazily from engine/local/processes.ts.
 */
import type { Command } from 'commander';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  const engine = program.command('engine').description('Run the Flink-shaped streaming engine\'s processes.');
  engine
    .command('jobmanager')
    .description('Start a JobManager: RPC for TaskManagers, the REST API, and /metrics.')
    .option('--rest-port <port>', 'REST API port (rest.port)', '8081')
    .option('--rpc-port <port>', 'RPC port TaskManagers connect to (jobmanager.rpc.port)', '6123')
    .option('--metrics-port <port>', 'port of /metrics, /healthz, /readyz', '9249')
    .option('--state-dir <dir>', 'directory for job modules and checkpoints')
    .option('--host <addr>', 'address to bind and advertise', '127.0.0.1')
    .option('--job <module>', 'submit this job module at start (repeatable)', collect)
    .option('--program-args <args>', 'arguments for the submitted job modules (space separated)')
    .option('--parallelism <n>', 'default parallelism of submitted jobs')
    .option('-D, --define <key=value>', 'any configuration option by its Flink key (repeatable)', collect)
    .action(async (opts) => {
      const { runJobManager } = await import('../../engine/local/processes.ts');
      await runJobManager(opts);
    });
  engine
    .command('taskmanager')
    .description('Start a TaskManager that registers with a JobManager and runs subtasks.')
    .requiredOption('--jobmanager <host:port>', 'the JobManager RPC address')
    .option('--slots <n>', 'task slots to offer (taskmanager.numberOfTaskSlots)', '1')
    .option('--metrics-port <port>', 'port of /metrics (default: any free port, logged)')
    .option('--data-port <port>', 'port for data connections (default: any free port)')
    .option('--host <addr>', 'address to bind and advertise', '127.0.0.1')
    .option('--state-dir <dir>', 'directory for job modules and local state')
    .option('--resource-id <id>', 'TaskManager id (taskmanager.resource-id)')
    .option('-D, --define <key=value>', 'any configuration option by its Flink key (repeatable)', collect)
    .action(async (opts) => {
      const { runTaskManager } = await import('../../engine/local/processes.ts');
      await runTaskManager(opts);
    });
}
