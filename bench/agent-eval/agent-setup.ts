/**
 * The agent's store, query engine and rule manager as agent/process builds them, for the benches
 * that run the agent's parts in their own process (agent-eval's agent-cycle.ts, tsdb-retention's
 * scrape-agent.ts): the config goes through the agent's schema with its defaults, the rule files
 * are loaded (a problem throws with its location), and the scrape loops' metrics are registered.
 */
import { Registry } from 'prom-client';
import { MemoryStorage } from '../../agent/tsdb/index.ts';
import { PromQLEngine } from '../../agent/promql/index.ts';
import { RuleManager, engineQueryFunc } from '../../agent/rules/index.ts';
import { createScrapeMetrics } from '../../agent/collect/scraper.ts';
import { parseAgentConfig, type AgentConfig } from '../../agent/process/config.ts';

export interface BenchAgentOptions {
  intervalMs: number;
  scrape: ReadonlyArray<{ job: string; targets: string[] }>;
  ruleFiles: string[];
  /** Named in config errors. */
  source: string;
}

export interface BenchAgent {
  cfg: AgentConfig;
  registry: Registry;
  storage: MemoryStorage;
  engine: PromQLEngine;
  rules: RuleManager;
  scrapeMetrics: ReturnType<typeof createScrapeMetrics>;
}

export async function benchAgent(opts: BenchAgentOptions): Promise<BenchAgent> {
  const intervalText = `${opts.intervalMs}ms`;
  const cfg = parseAgentConfig({
    scrape: { interval: intervalText, static: opts.scrape.map((s) => ({ job: s.job, targets: s.targets })) },
    rules: { files: opts.ruleFiles, evaluationInterval: intervalText, watch: false },
  }, opts.source);
  const registry = new Registry();
  const storage = new MemoryStorage({ retentionMs: cfg.storage.retention, maxSeries: cfg.storage.maxSeries });
  storage.registerMetrics(registry);
  const engine = new PromQLEngine(storage, { timeoutMs: cfg.query.timeout, lookbackDeltaMs: cfg.query.lookbackDelta });
  const rules = new RuleManager({ files: cfg.rules.files, query: engineQueryFunc(engine), appender: storage, evaluationIntervalMs: cfg.rules.evaluationInterval, registry });
  const loaded = await rules.reload();
  if (!loaded.ok) throw new Error(`rule files have problems: ${loaded.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`).join('; ')}`);
  return { cfg, registry, storage, engine, rules, scrapeMetrics: createScrapeMetrics(registry) };
}
