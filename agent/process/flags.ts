/**
 * The command-line flags of `flowpilot agent`, generated from the config schema (one flag per
 * leaf key, common/schema-flags.ts) plus the shortcuts older command lines, the chart and the
 * docs use (`--port`, `--flink-url`, `--scrape job=URL`, Prometheus's `--web.config.file`).
 * A new schema section gets its flags here without an edit. `--config FILE` is not a key: the
 * CLI declares it itself.
 */
import { aliasFlag, schemaFlags, type ConfigFlag } from '../../common/schema-flags.ts';
import { agentConfigSchema } from './config.ts';

/** `[job=]URL` → a static scrape group. */
function scrapeGroup(spec: string): Record<string, unknown> {
  const m = /^([a-zA-Z_][a-zA-Z0-9_-]*)=(.+)$/.exec(spec);
  return m ? { job: m[1], targets: [m[2]] } : { targets: [spec] };
}

const listOf = (v: string | string[] | boolean): string[] => (Array.isArray(v) ? v : [String(v)]);

function shortcuts(): ConfigFlag[] {
  const s = agentConfigSchema;
  return [
    aliasFlag(s, '--flink-url', ['flink', 'urls'], 'Flink REST endpoint(s), e.g. http://127.0.0.1:8081'),
    aliasFlag(s, '--flink-samples', ['flink', 'samples'], 'store Flink REST figures as samples (false: observations only, when the reporter endpoints are scraped too)'),
    aliasFlag(s, '--scrape', ['scrape', 'static'], 'Prometheus exposition URL(s) to scrape, optionally job=URL (default job "flink")', {
      map: (v) => listOf(v).map(scrapeGroup),
      valueHint: '<[job=]url...>',
    }),
    aliasFlag(s, '--scrape-interval', ['scrape', 'interval'], 'default scrape interval, e.g. 15s'),
    aliasFlag(s, '--rules', ['rules', 'files'], 'rule files, directories or globs (Prometheus rule-file format)'),
    aliasFlag(s, '--eval-interval', ['rules', 'evaluationInterval'], 'default rule evaluation interval, e.g. 15s'),
    aliasFlag(s, '--alertmanager', ['alerting', 'alertmanagers'], 'Alertmanager base URL(s)'),
    aliasFlag(s, '--webhook', ['alerting', 'webhooks'], 'webhook URL(s) that receive alert batches'),
    aliasFlag(s, '--port', ['listen', 'port'], 'HTTP API port; 0 picks a free one'),
    aliasFlag(s, '--host', ['listen', 'host'], 'HTTP API bind address'),
    aliasFlag(s, '--record', ['record', 'file'], 'append each job observation as one JSON line (docs/reference/replay.md)'),
    aliasFlag(s, '--policy', ['scaling', 'policyFile'], 'scaling policy file (docs/reference/scaling-policy.md)'),
    aliasFlag(s, '--actuation', ['actuation', 'mode'], 'how rescales are carried out'),
    aliasFlag(s, '--journal', ['actuation', 'journal', 'dir'], 'directory of the intent journal (file journal)'),
    aliasFlag(s, '--web.config.file', ['web', 'configFile'], "Prometheus's name: TLS, client certificates and basic auth for the HTTP API (docs/guide/access-control.md)"),
  ];
}

let table: ConfigFlag[] | undefined;

/** Every agent flag: the shortcuts first (the common ones), then one per key in schema order. */
export function agentFlags(): ConfigFlag[] {
  if (!table) {
    const generated = schemaFlags(agentConfigSchema);
    const names = new Set(generated.map((f) => f.flag));
    table = [...shortcuts().filter((f) => !names.has(f.flag)), ...generated];
  }
  return table;
}
