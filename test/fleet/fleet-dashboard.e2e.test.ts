/**
 * The Autoscaler dashboard's fleet row against fleet mode: two agent replicas (the real
 * `flowpilot agent` fleet wiring, in this process, each on its own port) autoscale opted-in
 * FlinkDeployments on the fake API server, each backed by the fleet bench's Flink REST replay of
 * an operator-recorded job (one of them overloaded, so it is rescaled: the fake operator model
 * turns the agent's patch into resource-requirements on the replay). A real Prometheus scrapes
 * both replicas. Every fleet panel query, with the dashboard's variables set as a user would, must
 * return data from Prometheus, and from at least one replica's own Prometheus-compatible API
 * (each replica's store holds only its own series). The single-job dashboards e2e leaves this row
 * out. Without the prometheus binary, only the agents' APIs are asked (the skip is reported).
 */
import '../../bench/fleet/svc-dns.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startFakeKube } from '../support/fake-kube/index.ts';
import { FakeFlinkOperator } from '../support/fake-kube/flink-operator-model.ts';
import { instantQuery, startPrometheus, type PromServer } from '../support/prom-stack.ts';
import { missingBinaries, waitFor } from '../support/processes.ts';
import { optedInDeployment } from '../support/fleet-fixtures.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { startFleetAgent } from '../../agent/process/fleet.ts';
import { silentLogger } from '../../common/log.ts';
import { expandVariables, panelQueries, resolveVariables, type LabelValues } from '../../dashboards/queries.ts';
import { fleetRow } from '../../dashboards/src/autoscaler.ts';
import { FlinkReplayServer } from '../../bench/fleet/replay-server.ts';

const FD = 'flinkdeployments.flink.apache.org';
const NS = 'team-a';

describe('the Autoscaler dashboard\'s fleet row', () => {
  const noProm = missingBinaries(['prometheus']);
  it('answers every fleet panel query with data from a fleet of two replicas', { timeout: 150_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-fleet-dash-'));
    const kube = await startFakeKube({ namespace: 'flowpilot' });
    const replay = new FlinkReplayServer();
    const port = await replay.listen();
    const host = (name: string): string => `${name}-rest.${NS}.svc`;
    const operator = new FakeFlinkOperator(kube.server, {
      stepMs: 15,
      backend: (_ns, name) => {
        const j = replay.job(host(name));
        return j ? { restUrl: `http://${host(name)}:${port}`, jobId: j.jobId } : undefined;
      },
    }).start();
    const replicas: Array<Awaited<ReturnType<typeof startFleetAgent>>> = [];
    let prom: PromServer | null = null;
    t.after(async () => {
      await prom?.stop();
      for (const r of replicas) await r.stop();
      await operator.stop();
      await replay.close();
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, stringify({
      metricsWindow: '4s', upConfirmIntervals: 2, cooldown: '5s', restart: { prior: '5s', absorbShortOverloads: false },
      effectiveness: { enabled: false }, forecast: { enabled: false },
    }));
    for (const id of ['r0', 'r1']) {
      const config = parseAgentConfig({
        listen: { port: 0 }, dryRun: false,
        scrape: { interval: '1s', timeout: '1s', self: true }, rules: { evaluationInterval: '1s' },
        flink: { perSubtaskMetrics: false },
        scaling: { policyFile: policy, state: { saveInterval: '2s' } },
        actuation: { kubernetes: { connection: 'file', kubeconfig: kube.kubeconfigPath }, events: false, timing: { verifyTimeout: '5s', pollInterval: '100ms' } },
        fleet: { enabled: true, identity: id, leaseDuration: '4s', renewInterval: '500ms', resync: '5s' },
      });
      replicas.push(await startFleetAgent(config, silentLogger(), { version: 'test', identity: id }));
    }
    // An overloaded job (busy ~4.5x the recorded ~200 ms/s) that gets rescaled, and quiet ones.
    replay.addJob(host('hot'), 'kafka-1.15', 'hot', { busyFactor: 4.5 });
    kube.server.putObject(FD, NS, optedInDeployment('hot', port));
    for (const [i, s] of ['dynamic-kafka', 'finished-source-1.18', 'pulsar'].entries()) {
      replay.addJob(host(`quiet-${i}`), s, `quiet-${i}`);
      kube.server.putObject(FD, NS, optedInDeployment(`quiet-${i}`, port));
    }
    const agentUrls = replicas.map((r) => `http://127.0.0.1:${r.agent.port}`);
    if (!noProm) prom = await startPrometheus({ jobs: [{ job: 'flowpilot-agent', targets: replicas.map((r) => `127.0.0.1:${r.agent.port}`) }] });
    else t.diagnostic(`Prometheus not asked: ${noProm}`);

    const anyAgent = async (expr: string): Promise<boolean> => {
      for (const u of agentUrls) if ((await instantQuery(u, expr)).length > 0) return true;
      return false;
    };
    await waitFor('a rescale decided and carried out', async () => await anyAgent('flowpilot_scaling_decisions_total{action="rescale", resource_name="hot"} > 0') && replay.job(host('hot'))!.rescales > 0, 90_000, 500);
    await waitFor('a blocked decision', () => anyAgent('flowpilot_scaling_decisions_total{action="none", blocked_by!=""} > 0'), 30_000, 500);
    // increase() needs two samples of a series in its range, in the agents' own stores too (each
    // scrapes itself every second; on a loaded host the second sample can come seconds later).
    await waitFor('an agent to hold the rescale twice', () => anyAgent('count_over_time(flowpilot_scaling_decisions_total{action="rescale"}[1h]) >= 2'), 30_000, 500);
    await waitFor('an agent to hold a blocked decision twice', () => anyAgent('count_over_time(flowpilot_scaling_decisions_total{action="none", blocked_by!=""}[1h]) >= 2'), 30_000, 500);
    if (prom) {
      const base = prom.url;
      // increase() needs two samples of a series in its range.
      await waitFor('Prometheus to hold the rescale twice', async () => (await instantQuery(base, 'count_over_time(flowpilot_scaling_decisions_total{action="rescale"}[1h]) >= 2')).length > 0, 30_000, 500);
      await waitFor('Prometheus to hold a blocked decision twice', async () => (await instantQuery(base, 'count_over_time(flowpilot_scaling_decisions_total{action="none", blocked_by!=""}[1h]) >= 2')).length > 0, 30_000, 500);
      await waitFor('Prometheus to hold both replicas\' job counts', async () => (await instantQuery(base, 'flowpilot_fleet_jobs')).length >= 2, 30_000, 500);
    }

    const titles = new Set(fleetRow.panels.map((p) => p.title));
    const queries = panelQueries().filter((q) => q.dashboard === 'flowpilot-autoscaler' && titles.has(q.panel));
    assert.equal(queries.length, fleetRow.panels.reduce((a, p) => a + p.queries.length, 0), 'every fleet panel query is in the generated JSON');
    const sources: Array<[string, string[]]> = [['agent replicas', agentUrls], ...(prom ? [['Prometheus', [prom.url]] as [string, string[]]] : [])];
    for (const [source, urls] of sources) {
      const labelValues: LabelValues = async (selector, label) => {
        const values = new Set<string>();
        for (const url of urls) {
          const res = await fetch(`${url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': selector })}`);
          for (const v of ((await res.json()) as { data?: string[] }).data ?? []) values.add(v);
        }
        return [...values].sort();
      };
      const vars = await resolveVariables('flowpilot-autoscaler', labelValues);
      const empty: string[] = [];
      for (const q of queries) {
        const expr = expandVariables(q.expr, '30s', vars);
        let found = false;
        for (const url of urls) if ((await instantQuery(url, expr)).length > 0) found = true;
        if (!found) empty.push(`${q.panel} [${q.refId}]: ${expr}`);
      }
      t.diagnostic(`${source}: ${queries.length} fleet panel queries, ${queries.length - empty.length} with data`);
      assert.deepEqual(empty, [], `${source}: fleet panel queries without data:\n  ${empty.join('\n  ')}`);
    }
    // The fleet counts every job once: the replicas' acting jobs add up to the four resources.
    const acting = async (): Promise<number> => {
      let n = 0;
      for (const u of agentUrls) for (const s of await instantQuery(u, 'flowpilot_fleet_jobs{state="acting"}')) n += Number(s.value[1]);
      return n;
    };
    await waitFor('four acting jobs over the replicas', async () => (await acting()) === 4, 30_000, 500);
  });
});
