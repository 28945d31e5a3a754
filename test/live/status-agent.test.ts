/**
 * The live status view with a real agent beside a real engine: the agent (in this process, on a
 * free port) collects from the engine's REST API, evaluates a rule file whose alert fires at
 * once, and runs the autoscaler pipeline behind /api/v1/scaling/decisions. The view must show the
 * firing alert and the agent's last decision with its reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { silentLogger } from '../../common/log.ts';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { AgentProcess } from '../../agent/process/agent.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { AutoscalerPipeline, firingAlerts } from '../../agent/scaling/pipeline.ts';
import { DecisionRecorder, handleDecisionsRoute } from '../../agent/record/decision-log.ts';
import { defaultPolicy } from '../../agent/scaling/policy.ts';
import { startStatusView } from '../../cli/live/status-view.ts';

describe('live status view with a real agent', () => {
  let dir = '';
  let cluster: LocalCluster | null = null;
  let agent: AgentProcess | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-live-agent-'));
    cluster = await startQuietCluster({
      stateDir: join(dir, 'state'),
    });
    const rules = join(dir, 'live.yml');
    writeFileSync(
      rules,
      ['groups:', '  - name: live', '    rules:', '      - alert: LiveViewJobRunning', '        expr: flink_jobmanager_numRunningJobs > 0', '        labels: { severity: info }', '        annotations: { summary: "a job is running" }', ''].join('\n'),
    );
    const config = parseAgentConfig(
      { listen: { host: '127.0.0.1', port: 0 }, flink: { urls: [cluster.restUrl] }, scrape: { interval: '1s' }, rules: { files: [rules], evaluationInterval: '1s' } },
      'test',
    );
    const recorder = new DecisionRecorder();
    const scaling = new AutoscalerPipeline({ policy: defaultPolicy(), decisions: recorder });
    agent = new AgentProcess({
      config,
      logger: silentLogger(),
      version: 'test',
      onObservation: async (obs, ctx) => void (await scaling.scale(obs, firingAlerts(ctx.rules))),
      extraRoutes: async (req, res) => handleDecisionsRoute(req, res, recorder.ring),
    });
    await agent.start();
  });

  after(async () => {
    await agent?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the firing alert and the last scaling decision with its reason', async () => {
    let text = '';
    const out = new PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    const view = startStatusView({ restUrl: cluster!.restUrl, agentUrl: `http://127.0.0.1:${agent!.port}`, out, intervalMs: 300 });
    try {
      const re = /job word-count RUNNING p=1 .* \| alerts: LiveViewJobRunning \| scaling: (no rescale|rescale)[^|\n]* — \S[^\n]*/;
      const deadline = Date.now() + 25_000;
      while (!re.test(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.match(text, re);
    } finally {
      await view.stop();
    }
  });
});
