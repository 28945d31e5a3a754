/**
 * The agent's own prom-client registry as a scrape source, so the agent keeps its own metrics
 * in its store as Prometheus keeps its own (`job="prometheus"` scraping itself): Grafana using
 * the agent as its data source then finds `flowpilot_*` series through the query API as it
 * would through Prometheus. The exposition text is parsed by the same parser as any target.
 */
import type { Registry } from 'prom-client';
import { chunkedSource } from './http-target.ts';
import type { KnownSeriesTest } from './prometheus-text.ts';
import type { SourceResult, TargetSource } from './target.ts';

export class RegistrySource implements TargetSource {
  readonly url: string;
  private readonly registry: Registry;

  /** `url` names where the same metrics are served over HTTP (for /api/v1/targets). */
  constructor(registry: Registry, url: string) {
    this.registry = registry;
    this.url = url;
  }

  async fetch(signal: AbortSignal, isKnownSeries?: KnownSeriesTest): Promise<SourceResult> {
    signal.throwIfAborted();
    const text = await this.registry.metrics();
    signal.throwIfAborted();
    return chunkedSource([Buffer.from(text.endsWith('\n') ? text : `${text}\n`)], isKnownSeries);
  }
}
