/**
 * Runs the tutorial (docs/guide/tutorial-autoscale-a-flinkdeployment.md) as a new user would, with
 * what this machine has instead of a Kubernetes cluster:
 * - every ```yaml file=NAME block is written to a working directory (which also holds the repo's
 *   charts/ and rules/, as a clone would);
 * - every line of a ```sh run block runs in bash there, with `flowpilot` and `helm` on the PATH,
 *   FLINK_URL pointing at a local engine running the order-enrichment job, AGENT_URL at an agent
 *   in dry run with the tutorial's policy, and VERTEX set to a vertex id from `flowpilot collect`
 *   (the value the tutorial tells the user to pick). `helm install` and `helm upgrade` run as
 *   `helm template` with the same arguments, and every object rendered is validated;
 * - in ```sh cluster blocks, `kubectl apply -f FILE` validates FILE against the operator's CRD; the
 *   rest (creating a cluster, installing the operator, port-forwards) is reported as not run.
 * Each command must succeed; the outputs the tutorial describes are checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { LocalCluster } from '../../engine/local/launcher.ts';
import { startQuietCluster } from '../support/local-cluster.ts';
import { freePort, waitFor } from '../support/processes.ts';
import { helmBinaries, missingHelm, repoRoot, validateObject, type K8sObject } from '../charts/helm.ts';

const TUTORIAL = join(repoRoot, 'docs', 'guide', 'tutorial-autoscale-a-flinkdeployment.md');

interface Block { lang: string; attrs: string; body: string; line: number }

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```(\w+)([^\n]*)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(re)) out.push({ lang: m[1]!, attrs: m[2]!.trim(), body: m[3]!, line: markdown.slice(0, m.index).split('\n').length });
  return out;
}

function commands(body: string): string[] {
  return body.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function bash(cmd: string, cwd: string, env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('the tutorial "autoscale a FlinkDeployment"', () => {
  it('runs every command and file of the tutorial that can run here', { skip: missingHelm() ?? false, timeout: 300_000 }, async (t) => {
    const text = readFileSync(TUTORIAL, 'utf8');
    const all = blocks(text);
    const work = mkdtempSync(join(tmpdir(), 'fp-tutorial-'));
    let cluster: LocalCluster | null = null;
    t.after(async () => {
      await cluster?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    // A working directory like a clone: the repo's charts and rules, plus the tutorial's files.
    symlinkSync(join(repoRoot, 'charts'), join(work, 'charts'));
    symlinkSync(join(repoRoot, 'rules'), join(work, 'rules'));
    const bin = join(work, '.bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'flowpilot'), `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, 'cli', 'main.ts')}" "$@"\n`);
    chmodSync(join(bin, 'flowpilot'), 0o755);
    symlinkSync(helmBinaries()[0]!.path, join(bin, 'helm'));
    const files = new Map<string, string>();
    for (const b of all.filter((x) => /^file=/.test(x.attrs))) {
      const name = b.attrs.slice('file='.length);
      writeFileSync(join(work, name), b.body);
      files.set(name, b.body);
    }
    assert.deepEqual([...files.keys()].sort(), ['flowpilot-values.yaml', 'orders.yaml', 'policy.yaml']);

    // What the tutorial's cluster would provide: Flink's REST API with a running job, and the agent in dry run.
    const agentPort = await freePort();
    cluster = await startQuietCluster({
      taskManagers: 2,
      slots: 2,
      stateDir: join(work, 'state'),
      job: 'order-enrichment',
      parallelism: 2,
      jobArgs: ['--checkpoint-interval', '1000', '--output', join(work, 'out')],
      agent: true,
      agentArgs: ['--port', String(agentPort), '--scrape-interval', '1s', '--dry-run', '--policy', join(work, 'policy.yaml'), '--journal', join(work, 'journal')],
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      FLINK_URL: cluster.restUrl,
      AGENT_URL: `http://127.0.0.1:${agentPort}`,
    };

    const notRun: string[] = [];
    const outputs = new Map<string, string>();
    for (const b of all.filter((x) => x.lang === 'sh')) {
      for (const cmd of commands(b.body)) {
        if (b.attrs === 'cluster') {
          const apply = /^kubectl apply -f (\S+)$/.exec(cmd);
          if (apply) {
            const docs = parseAllDocuments(files.get(apply[1]!) ?? '').map((d) => d.toJS() as K8sObject);
            assert.ok(docs.length > 0, `${apply[1]} is one of the tutorial's files`);
            for (const obj of docs) await validateObject(obj);
          } else notRun.push(cmd);
          continue;
        }
        assert.equal(b.attrs, 'run', `line ${b.line}: a sh block is either "run" or "cluster"`);
        if (cmd.startsWith('flowpilot collect')) {
          // The user picks a vertex from this output; the test picks the first one.
          const r = bash(cmd, work, env);
          assert.equal(r.status, 0, `${cmd}\n${r.stdout}${r.stderr}`);
          const obs = JSON.parse(r.stdout.trim().split("\n")[0]!) as { vertices: Array<{ id: string; parallelism: number }> };
          assert.ok(obs.vertices.length >= 2, 'the observation lists the job\'s vertices');
          env.VERTEX = obs.vertices[0]!.id;
          outputs.set('collect', r.stdout);
          continue;
        }
        if (cmd.startsWith('flowpilot scale explain')) {
          await waitFor('the agent\'s first decision', async () => {
            const res = await fetch(`${env.AGENT_URL}/api/v1/scaling/decisions`).catch(() => null);
            const body = res?.ok ? ((await res.json()) as { decisions?: unknown[] }) : null;
            return (body?.decisions?.length ?? 0) > 0;
          }, 90_000, 500);
        }
        const helm = /^helm (install|upgrade) (\S+) (\S+) (.*)$/.exec(cmd);
        const run = helm ? `helm template ${helm[2]} ${helm[3]} ${helm[4]}` : cmd;
        const r = bash(run, work, env);
        assert.equal(r.status, 0, `${run}\n${r.stdout}${r.stderr}`);
        if (helm) {
          const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
          assert.ok(objs.some((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-agent')), `${cmd}: renders the agent Deployment`);
          for (const obj of objs) await validateObject(obj);
          const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-agent')) as unknown as { data: Record<string, string> };
          const agentYaml = cm.data['agent.yaml'] ?? '';
          assert.match(agentYaml, /orders/, `${cmd}: the agent is pointed at the FlinkDeployment`);
          assert.match(agentYaml, helm[1] === 'install' ? /dryRun: true/ : /dryRun: false/, `${cmd}: dry run as the tutorial says`);
          continue;
        }
        outputs.set(cmd.split(' ').slice(0, 3).join(' '), r.stdout);
      }
    }

    // The outputs the tutorial describes.
    const patch = JSON.parse(outputs.get('flowpilot scale set') ?? 'null') as { spec?: Record<string, unknown> } | null;
    assert.ok(patch?.spec, 'scale set --dry-run prints a merge patch');
    assert.deepEqual(Object.keys(patch.spec), ['flinkConfiguration'], 'a NATIVE FlinkDeployment: only flinkConfiguration changes');
    const overrides = (patch.spec.flinkConfiguration as Record<string, string>)['pipeline.jobvertex-parallelism-overrides'] ?? '';
    assert.match(overrides, new RegExp(`${env.VERTEX}:4`));
    assert.match(outputs.get('flowpilot scale explain') ?? '', /\S/, 'explain prints the agent\'s decisions');
    assert.match(outputs.get('flowpilot scale check-policy') ?? '', /ok/);
    t.diagnostic(`cluster-only commands not run here: ${notRun.length}\n  ${notRun.join('\n  ')}`);
  });
});
