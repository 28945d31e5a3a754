/**
 * Turns the agent config into scrape targets: static Prometheus targets (host:port or URLs),
 * one target per Flink REST endpoint (the REST collector as a scrape source), and the targets
 * of a Kubernetes pod discovery. Each gets the `job`/`instance` labels Prometheus would give it.
 */
import type { Registry } from 'prom-client';
import { HttpExpositionSource } from '../collect/http-target.ts';
import { RegistrySource } from '../collect/registry-target.ts';
import type { ScrapeTarget, TargetSource } from '../collect/target.ts';
import type { DiscoveredTarget } from '../collect/kube-discovery.ts';
import type { AgentConfig } from './config.ts';

function timeoutFor(intervalMs: number, cfg: AgentConfig): number {
  return Math.min(cfg.scrape.timeout, intervalMs);
}

function target(labels: Record<string, string>, source: TargetSource, intervalMs: number, honorLabels: boolean, cfg: AgentConfig): ScrapeTarget {
  return { labels, source, intervalMs, timeoutMs: timeoutFor(intervalMs, cfg), honorLabels, maxBackoffMs: cfg.scrape.maxBackoff };
}

/** Static targets from `scrape.static`. */
export function staticTargets(cfg: AgentConfig): ScrapeTarget[] {
  const out: ScrapeTarget[] = [];
  for (const group of cfg.scrape.static) {
    const interval = group.interval ?? cfg.scrape.interval;
    for (const t of group.targets) {
      const url = /^https?:\/\//.test(t) ? new URL(t) : new URL(`${group.scheme}://${t}${group.path.startsWith('/') ? group.path : `/${group.path}`}`);
      const labels = { ...group.labels, job: group.job, instance: url.host };
      out.push(target(labels, new HttpExpositionSource(url.toString(), timeoutFor(interval, cfg)), interval, group.honorLabels, cfg));
    }
  }
  return out;
}

/** Targets of one Kubernetes discovery result. */
export function discoveredTargets(found: DiscoveredTarget[], honorLabels: boolean, cfg: AgentConfig): ScrapeTarget[] {
  return found.map((d) => target(d.labels, new HttpExpositionSource(d.url, timeoutFor(cfg.scrape.interval, cfg)), cfg.scrape.interval, honorLabels, cfg));
}

/**
 * The Flink REST collector for one endpoint, as a target (`job` from flink.job, instance host:port).
 *
 * Unlike an exposition scrape, one collection is several rounds of REST calls (overview, job
 * graph, vertex metric lists, then values), and the autoscaler needs every observation it can
 * get. So: the cycle is bounded by `flink.timeout` (the per-request timeout), not by the
 * interval; a collection that overruns its interval completes and the ticks it overlapped are
 * skipped (on a slow host observations come less often, they do not stop). And a failed
 * collection is retried at the next tick, as Prometheus retries a scrape, never backed off:
 * backing off a slow Flink (every collection timing out) left the agent without observations
 * for up to `scrape.maxBackoff`. Failures stay visible as `up` 0, the target's health and
 * consecutive failures (/api/v1/targets) and flowpilot_scrape_failures_total.
 */
export function flinkTarget(url: string, source: TargetSource, cfg: AgentConfig): ScrapeTarget {
  const interval = cfg.flink.interval ?? cfg.scrape.interval;
  return {
    ...target({ job: cfg.flink.job, instance: new URL(url).host }, source, interval, false, cfg),
    timeoutMs: Math.max(timeoutFor(interval, cfg), cfg.flink.timeout),
    maxBackoffMs: interval,
  };
}

/** The agent's own registry, as a target labelled the way a Prometheus scraping the agent would label it. */
export function selfTarget(registry: Registry, host: string, port: number, cfg: AgentConfig): ScrapeTarget {
  const instance = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return target({ job: 'flowpilot-agent', instance }, new RegistrySource(registry, `http://${instance}/metrics`), cfg.scrape.interval, false, cfg);
}
