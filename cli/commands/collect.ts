/**
 * `flowpilot collect --flink-url URL [--once]`: reads a Flink cluster over REST exactly as the
 * agent does (agent/collect/flink-rest.ts) and prints the JobObservation of every running job,
 * one JSON object per line on stdout, validated against the schema of docs/reference/replay.md (so the
 * output can be fed to `flowpilot scale replay`). Without --once it repeats every --interval
 * until interrupted. Requests that failed without failing the collection go to stderr.
 */
import type { Command } from 'commander';

interface CollectOptions {
  flinkUrl: string;
  once: boolean;
  interval: string;
  timeout: string;
  concurrency: string;
}

export function register(program: Command): void {
  program
    .command('collect')
    .description('print what the agent sees of a Flink cluster: one JobObservation per running job, as JSON lines')
    .requiredOption('--flink-url <url>', "the JobManager's REST address, e.g. http://localhost:8081")
    .option('--once', 'collect once and exit', false)
    .option('--interval <duration>', 'time between collections without --once', '15s')
    .option('--timeout <duration>', 'per-request timeout', '10s')
    .option('--concurrency <n>', 'requests in flight at once', '8')
    .action(async (opts: CollectOptions) => {
      const { runCollect } = await import('../../agent/collect/collect-command.ts');
      process.exitCode = await runCollect(opts, { out: process.stdout, err: process.stderr });
    });
}
