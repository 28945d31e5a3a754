/**
 * End to end for the dashboards: the local stack as `flowpilot up` runs it (a JobManager, two
 * TaskManagers, the order-enrichment job overloaded by a rate step, and the agent rescaling it
 * in place) is scraped by a real Prometheus 2.42, which also scrapes the agent's own /metrics and
 * evaluates the rule pack (every `for:` shortened to 3 s). Then every query of every generated
 * dashboard must return data, with Grafana's variables set as a user would set them (the first
 * value each variable query returns, e.g. job_name="order_enrichment"), from Prometheus and from the
 * agent used as the data source itself (it keeps its own flowpilot_* metrics in its store). The policy
 * caps the enrichment vertex at parallelism 2, so the job stays overloaded (and alerts keep firing)
 * after the agent's rescale. The Autoscaler's fleet row is left to test/fleet/fleet-dashboard.e2e.test.ts
 * (it needs a fleet-mode agent). Takes about a minute.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { expandVariables, panelQueries, resolveVariables, type LabelValues } from '../../dashboards/queries.ts';
import { freePort, missingBinaries, waitFor } from '../support/processes.ts';
import { instantQuery, startPrometheus, type PromServer } from '../support/prom-stack.ts';
import { shortenedRulePack } from '../support/rule-pack.ts';
import { fleetRow } from '../../dashboards/src/autoscaler.ts';

// The fleet row needs a fleet-mode agent: test/fleet/fleet-dashboard.e2e.test.ts runs it against one.
const fleetPanels = new Set(fleetRow.panels.map((p) => p.title));

const POLICY = `
metricsWindow: 20s
upConfirmIntervals: 2
cooldown: 30s
restart:
  prior: 5s
limits:
  maxParallelism: 2
forecast:
  enabled: false
`;

describe('dashboards end to end', () => {
  const skip = missingBinaries(['prometheus']);
  it('answers every dashboard panel query with data from Prometheus scraping the engine and the agent', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-dash-e2e-'));
    let cluster: LocalCluster | null = null;
    let prom: PromServer | null = null;
    t.after(async () => {
      await prom?.stop();
      await cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    const agentPort = await freePort();
    // The agent evaluates the same shortened rule pack as Prometheus, so ALERTS exists on both data sources.
    const rulePack = shortenedRulePack(dir);
    cluster = await startQuietCluster({
      taskManagers: 2,
      slots: 4,
      stateDir: join(dir, 'state'),
      job: 'order-enrichment',
      jobArgs: ['--profile', 'steps:400@0s,2500@5s', '--latency', '50', '--capacity', '20', '--checkpoint-interval', '1000', '--window', '2000', '--output', join(dir, 'out')],
      agent: true,
      agentArgs: ['--port', String(agentPort), '--scrape-interval', '1s', '--eval-interval', '1s', '--no-dry-run', '--actuation', 'in-place', '--policy', join(dir, 'policy.yml'), '--journal', join(dir, 'journal'), '--rules', ...rulePack],
    });
    assert.ok(cluster.agent, 'the agent runs');
    const engineTargets = [cluster.jobManager, ...cluster.taskManagers].map((c) => `127.0.0.1:${String(c.ready.metricsPort)}`);
    prom = await startPrometheus({
      jobs: [{ job: 'flink', targets: engineTargets }, { job: 'flowpilot-agent', targets: [`127.0.0.1:${agentPort}`] }],
      ruleFiles: rulePack,
    });
    const base = prom.url;

    // The stack has done what the dashboards show: checkpoints completed, the agent rescaled, alerts fire.
    await waitFor('a completed checkpoint in Prometheus', async () => (await instantQuery(base, 'flink_jobmanager_job_numberOfCompletedCheckpoints > 0')).length > 0, 60_000, 1000);
    await waitFor('a rescale decision of the agent', async () => (await instantQuery(base, 'flowpilot_scaling_decisions_total{action="rescale"} > 0')).length > 0, 90_000, 1000);
    await waitFor('a firing alert in Prometheus', async () => (await instantQuery(base, 'ALERTS{alertstate="firing"}')).length > 0, 60_000, 1000);
    await waitFor('the uptime series to have a minute of history', async () => (await instantQuery(base, 'count_over_time(flink_jobmanager_job_uptime[1m]) > 20')).length > 0, 60_000, 1000);

    // Both data sources Grafana may use: Prometheus, and the agent's own Prometheus-compatible API.
    const agentBase = `http://127.0.0.1:${agentPort}`;
    await waitFor('the agent to hold its own scaling series', async () => (await instantQuery(agentBase, 'flowpilot_scaling_decisions_total{action="rescale"} > 0')).length > 0, 60_000, 1000);
    for (const [source, url] of [['Prometheus', base], ['agent', agentBase]] as const) {
      // Every panel is evaluated at one moment when an alert fires on this data source: on a loaded
      // host the overloaded job's alerts can clear for a while (its rates move), so "now" may fall
      // in such a gap; the moment is found, not waited out.
      const at = await waitFor(`a firing alert in the ${source} data source`, async () => (await instantQuery(url, 'ALERTS{alertstate="firing"}'))[0]?.value[0], 60_000, 1000);
      const labelValues: LabelValues = async (selector, label) => {
        const res = await fetch(`${url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': selector })}`);
        const json = (await res.json()) as { status: string; data?: string[] };
        assert.equal(json.status, 'success', `${source}: label values of ${label} on ${selector}`);
        return json.data ?? [];
      };
      const empty: string[] = [];
      const queries = panelQueries().filter((q) => !(q.dashboard === 'flowpilot-autoscaler' && fleetPanels.has(q.panel)));
      const varsByDashboard = new Map<string, Record<string, string>>();
      for (const q of queries) {
        let vars = varsByDashboard.get(q.dashboard);
        if (vars === undefined) varsByDashboard.set(q.dashboard, (vars = await resolveVariables(q.dashboard, labelValues)));
        // The job is picked by its real name, as Flink's reporter writes it, never by "All".
        assert.equal(vars['job_name'], 'order_enrichment', `${source}: the job_name variable of ${q.dashboard}`);
        const expr = expandVariables(q.expr, '30s', vars);
        const result = await instantQuery(url, expr, at);
        if (result.length === 0) empty.push(`${q.dashboard} / ${q.panel} [${q.refId}]: ${expr}`);
      }
      t.diagnostic(`${source}: ${queries.length} panel queries, ${queries.length - empty.length} with data`);
      assert.deepEqual(empty, [], `${source}: panel queries without data:\n  ${empty.join('\n  ')}`);
    }
  });
});
