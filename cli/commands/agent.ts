/**
 * `flowpilot agent`: runs the observability and autoscaling agent (collect Flink REST metrics and
 * Prometheus targets, store, evaluate rules, send alerts, serve the Prometheus HTTP API). The
 * implementation is loaded lazily inside the action so `flowpilot --help` stays fast.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('agent')
    .description('Run the agent: collect from Flink REST and Prometheus targets, evaluate rules, alert, serve a Prometheus-compatible API')
    .option('--config <file>', 'YAML config file (see docs/reference/agent.md); flags override it')
    .option('--flink-url <url...>', 'Flink REST endpoint(s), e.g. http://127.0.0.1:8081')
    .option('--flink-samples', 'store Flink REST figures as samples (the default)')
    .option('--no-flink-samples', 'use Flink REST for job observations only (when the reporter endpoints are scraped too)')
    .option('--scrape <target...>', 'Prometheus exposition URL(s) to scrape, optionally job=URL (default job "flink")')
    .option('--rules <glob...>', 'rule files, directories or globs (Prometheus rule-file format)')
    .option('--alertmanager <url...>', 'Alertmanager base URL(s)')
    .option('--webhook <url...>', 'webhook URL(s) that receive alert batches')
    .option('--port <n>', 'HTTP API port (default 9269; 0 picks a free one)')
    .option('--host <addr>', 'HTTP API bind address (default 127.0.0.1)')
    .option('--record <file>', 'append each job observation as one JSON line (docs/reference/replay.md)')
    .option('--scrape-interval <duration>', 'default scrape interval, e.g. 15s')
    .option('--eval-interval <duration>', 'default rule evaluation interval, e.g. 15s')
    .option('--dry-run', 'recommend only; never act on the cluster (the default)')
    .option('--no-dry-run', 'allow actions on the cluster')
    .option('--policy <file>', 'scaling policy file (docs/reference/scaling-policy.md)')
    .option('--actuation <mode>', 'how rescales are carried out: in-place, savepoint, kubernetes-deployment, flink-deployment, dry-run')
    .option('--journal <dir>', 'directory of the intent journal (file journal)')
    .option('--query.timeout <duration>', 'longest a query may run (default 2m)')
    .option('--query.max-samples <n>', 'most samples one query may load (default 50000000)')
    .option('--query.max-concurrency <n>', 'API queries evaluated at once; more wait in a queue (default 20)')
    .option('--query.lookback-delta <duration>', 'how far back an instant selector looks (default 5m)')
    .option('--web.config.file <file>', 'TLS, client certificates and basic auth for the HTTP API (Prometheus web config format, docs/guide/access-control.md)')
    .option('--web.enable-lifecycle', 'allow POST /-/reload and /-/quit (off by default)')
    .action(async (opts: Record<string, unknown>) => {
      const { runAgent } = await import('../../agent/process/main.ts');
      await runAgent(opts);
    });
}
