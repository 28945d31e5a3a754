/**
 * The container image, built from the repository's Dockerfile by `npm run image` (scripts/image/build.ts)
 * and run with podman. The Dockerfile's public base (node:24-bookworm-slim) cannot be pulled here, so the
 * build uses a LOCAL STAND-IN for it (Debian bookworm minbase from mmdebstrap + the `node` npm package's
 * binary), tagged with the base's name; see scripts/image/build.ts.
 *
 * The image tested is the chart's default image (charts/flowpilot image.repository : package.json version),
 * and the engine containers run with the arguments the chart renders for its JobManager and TaskManager,
 * so a chart/CLI mismatch fails here; the JobManager's Kubernetes HA talks to the fake Kubernetes API
 * server (test/support/fake-kube) as a pod would (service-account token, KUBERNETES_SERVICE_HOST/PORT),
 * allowed only the chart's JobManager HA Role. Every container runs as the image's user with a
 * read-only root filesystem and only the chart's writable mounts (/tmp and the state directory).
 *
 * Skips with the reason when podman is missing; under CI=true a missing podman is a failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, type BuildResult } from '../../scripts/image/build.ts';
import { chartImage, packageVersion, podman, podmanMissing, podmanOk, root } from '../../scripts/image/podman.ts';
import { freePort, waitFor } from '../support/processes.ts';
import { helmBinaries, template, type K8sObject } from '../charts/helm.ts';
import { startFakeKube, type FakeKube, type RbacRule } from '../support/fake-kube/index.ts';

function skipReason(): string | false {
  const missing = podmanMissing();
  if (!missing) return false;
  if (process.env['CI'] === 'true') throw new Error(`CI must build the image: ${missing}`);
  return missing;
}

const skip = skipReason();
const image = chartImage();
const started: string[] = [];
/** Container names, unique per test process so two runs on one machine do not collide. */
const cname = (role: string): string => `flowpilot-image-${role}-${process.pid}`;
let built: BuildResult | null = null;

/** Common `podman run` flags: the chart's securityContext, as podman spells it. */
function hardened(name: string): string[] {
  return [
    '--name', name,
    '--read-only',
    '--read-only-tmpfs=false',
    '--tmpfs', '/tmp:rw,size=64m',
    '--cap-drop', 'ALL',
    '--security-opt', 'no-new-privileges',
    '--network', 'host',
  ];
}

async function runDetached(name: string, args: string[], extra: string[] = []): Promise<void> {
  await podman(['rm', '-f', name]);
  await podmanOk(['run', '-d', ...hardened(name), ...extra, image.ref, ...args]);
  started.push(name);
}

async function logsOf(name: string): Promise<string> {
  const r = await podman(['logs', '--tail', '15', name]);
  return `--- ${name} ---\n${r.stdout}${r.stderr}`;
}

/** Throws when a container has exited, so a crash fails the wait at once instead of at its timeout. */
async function assertRunning(...names: string[]): Promise<void> {
  for (const name of names) {
    const state = (await podmanOk(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).trim();
    if (!state.startsWith('running')) throw new Error(`container ${name} is not running (${state})`);
  }
}

/** waitFor(), but fails at once when one of the containers has exited. */
async function waitWhileRunning<T>(what: string, names: string[], probe: () => Promise<T | null | false>, timeoutMs: number): Promise<T> {
  return waitFor(what, async () => {
    try {
      await assertRunning(...names);
    } catch (err) {
      crashed = err as Error;
      return crashed;
    }
    return probe();
  }, timeoutMs, 500).then((v) => {
    if (v === crashed) throw crashed;
    return v as T;
  });
}
let crashed: Error | null = null;

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

function containerArgs(objects: K8sObject[], kind: string, nameSuffix: string, container: string): string[] {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  assert.ok(obj, `the chart renders a ${kind} *${nameSuffix}`);
  const spec = (obj as unknown as { spec: { template: { spec: { containers: Array<{ name: string; args?: string[] }> } } } }).spec;
  const c = spec.template.spec.containers.find((x) => x.name === container);
  assert.ok(c?.args, `${kind} ${obj.metadata.name} has a ${container} container with args`);
  return c.args.map(String);
}

describe('container image (base: local stand-in for node:24-bookworm-slim)', { skip, timeout: 900_000 }, () => {
  before(async () => {
    // Containers left by an earlier run whose test process was killed before its cleanup (the name
    // carries that process's pid): removed, so they do not hold ports on the host network.
    const names = (await podmanOk(['ps', '-a', '--format', '{{.Names}}'])).split('\n');
    for (const name of names) {
      const m = /^flowpilot-image-(?:jm|tm|agent)(?:-(\d+))?$/.exec(name.trim());
      if (!m) continue;
      const pid = m[1] ? Number(m[1]) : 0;
      let alive = false;
      try {
        if (pid > 0) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (!alive) await podman(['rm', '-f', '-t', '1', name.trim()]);
    }
    built = await buildImage({ quiet: true });
  });

  after(async () => {
    for (const name of started) await podman(['rm', '-f', '-t', '2', name]);
  });

  test('is the chart default image, and its size and build time are reported', async (t) => {
    assert.ok(built);
    assert.equal(built.image, `${image.repository}:${packageVersion()}`);
    const chart = readFileSync(join(root, 'charts', 'flowpilot', 'Chart.yaml'), 'utf8');
    assert.match(chart, new RegExp(`^appVersion: "?${packageVersion().replaceAll('.', '\\.')}"?$`, 'm'), 'Chart.yaml appVersion is package.json version');
    assert.match(chart, new RegExp(`^version: ${packageVersion().replaceAll('.', '\\.')}$`, 'm'), 'Chart.yaml version is package.json version');
    const values = readFileSync(join(root, 'charts', 'flowpilot', 'values.yaml'), 'utf8');
    assert.match(values, /^image:\s*\n\s+repository: \S+\n(?:\s+#.*\n)*\s+tag: ""/m, 'the chart tag defaults to appVersion');
    const mb = built.sizeBytes / 1e6;
    t.diagnostic(`image ${built.image}: ${mb.toFixed(0)} MB uncompressed; build (layers cached where unchanged) ${built.seconds.toFixed(1)} s`);
    process.stderr.write(`image: ${built.image} ${mb.toFixed(0)} MB, build ${built.seconds.toFixed(1)} s\n`);
    // The stand-in base is Debian minbase + an unstripped Node binary (~270 MB); catch an image that balloons.
    assert.ok(mb < 500, `image is ${mb.toFixed(0)} MB`);
  });

  test('the CLI answers --version', async () => {
    const out = await podmanOk(['run', '--rm', '--read-only', image.ref, '--version']);
    assert.equal(out.trim(), packageVersion());
  });

  test('runs as uid 10001 with a read-only root filesystem', async () => {
    const cfg = (await podmanOk(['image', 'inspect', '--format', '{{.Config.User}}', image.ref])).trim();
    assert.equal(cfg, '10001:10001');
    const r = await podman([
      'run', '--rm', '--read-only', '--entrypoint', 'sh', image.ref,
      '-c', 'id -u; id -g; touch /app/probe 2>&1 || echo ROOT-READ-ONLY',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], '10001');
    assert.equal(lines[1], '10001');
    assert.match(r.stdout, /Read-only file system/);
    assert.match(r.stdout, /ROOT-READ-ONLY/);
  });

  describe('a JobManager and a TaskManager run a job, with the arguments the chart renders; an agent watches them', () => {
    const helm = helmBinaries().find((h) => existsSync(h.path));
    if (!helm && !skip && process.env['CI'] === 'true') throw new Error('CI must run the engine containers with the chart\'s arguments: helm is missing (bash scripts/fetch-helm.sh)');
    const state = mkdtempSync(join(tmpdir(), 'flowpilot-image-state-'));
    after(() => rmSync(state, { recursive: true, force: true }));
    const ports = { rest: 0, rpc: 0, jmMetrics: 0, data: 0, tmMetrics: 0, agent: 0 };
    let kube: FakeKube | null = null;
    after(async () => {
      // The containers go first (the outer after), then the API server they talk to.
      for (const name of [cname('jm'), cname('tm'), cname('agent')]) await podman(['rm', '-f', '-t', '2', name]);
      await kube?.close();
    });
    let jobId = '';

    test('JobManager and TaskManager containers start and the job runs', { skip: helm ? false : 'helm is missing: bash scripts/fetch-helm.sh' }, async () => {
      assert.ok(helm);
      for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
      const objects = template(helm, [
        '--set', `engine.jobmanager.restPort=${ports.rest}`,
        '--set', `engine.jobmanager.rpcPort=${ports.rpc}`,
        '--set', `engine.jobmanager.metricsPort=${ports.jmMetrics}`,
        '--set', `engine.taskmanager.dataPort=${ports.data}`,
        '--set', `engine.taskmanager.metricsPort=${ports.tmMetrics}`,
        // One TaskManager container holds the job's parallelism (the chart runs `replicas` of them).
        '--set', 'engine.taskmanager.slots=2',
        // The job's own arguments (engine/jobs/order-enrichment.ts): checkpoints every 2 s into the state volume.
        '--set-json', 'engine.job.args=["--checkpoint-interval","2000"]',
      ]);
      const jmArgs = containerArgs(objects, 'Deployment', '-jobmanager', 'jobmanager');
      // The TaskManager reaches the JobManager's Service by name; on the host network that is 127.0.0.1.
      // $(POD_IP) is expanded by the kubelet from the pod's IP; here the pod is the host.
      const tmArgs = containerArgs(objects, 'Deployment', '-taskmanager', 'taskmanager').map((a) =>
        a.replace(/^[a-z0-9-]+-jobmanager:/, '127.0.0.1:').replaceAll('$(POD_IP)', '127.0.0.1'),
      );
      const stateDir = jmArgs[jmArgs.indexOf('--state-dir') + 1];
      assert.ok(stateDir, 'the chart passes --state-dir');
      const mounts = ['-v', `${state}:${stateDir}:rw`, '--env', 'POD_IP=127.0.0.1', '--user', '10001:10001'];
      // The chart's JobManager HA keeps its pointers in ConfigMaps: the JobManager container gets what a pod
      // gets (a service-account token directory and KUBERNETES_SERVICE_HOST/PORT), here pointing at the fake
      // Kubernetes API server, which allows only the rules of the chart's JobManager HA Role.
      const jmMounts = [...mounts];
      if (jmArgs.includes('high-availability.type=kubernetes')) {
        const role = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-jobmanager-ha')) as (K8sObject & { rules: RbacRule[] }) | undefined;
        assert.ok(role, 'the chart renders the JobManager HA Role');
        kube = await startFakeKube({ namespace: 'streaming', rbac: role.rules });
        jmMounts.push(
          '-v', `${join(kube.inClusterPrefix, 'var/run/secrets/kubernetes.io/serviceaccount')}:/var/run/secrets/kubernetes.io/serviceaccount:ro`,
          '--env', 'KUBERNETES_SERVICE_HOST=127.0.0.1', '--env', `KUBERNETES_SERVICE_PORT=${kube.port}`,
        );
      }
      // The state volume is an emptyDir owned by fsGroup 10001 in the chart; here, a host directory the user can write.
      chmodSync(state, 0o777);
      await runDetached(cname('jm'), jmArgs, jmMounts);
      await runDetached(cname('tm'), tmArgs, mounts);
      try {
        const engine = [cname('jm'), cname('tm')];
        jobId = await waitWhileRunning('a RUNNING job on the JobManager', engine, async () => {
          const o = (await getJson(`http://127.0.0.1:${ports.rest}/jobs/overview`)) as { jobs: Array<{ jid: string; state: string }> };
          return o.jobs.find((j) => j.state === 'RUNNING')?.jid ?? null;
        }, 90_000);
        await waitWhileRunning('a completed checkpoint (written to the state volume)', engine, async () => {
          const c = (await getJson(`http://127.0.0.1:${ports.rest}/jobs/${jobId}/checkpoints`)) as { counts?: { completed?: number } };
          return (c.counts?.completed ?? 0) > 0;
        }, 90_000);
        if (kube) {
          const cm = kube.server.getObject('configmaps', 'streaming', `rel-flowpilot-${jobId}-config-map`);
          assert.ok(cm, `the JobManager keeps the job's HA ConfigMap (seen: ${kube.server.usedPermissions().join(', ')})`);
        }
        const metrics = await (await fetch(`http://127.0.0.1:${ports.tmMetrics}/metrics`)).text();
        const m = /^flink_taskmanager_job_task_numRecordsIn(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(metrics);
        assert.ok(m, 'the TaskManager exports numRecordsIn');
      } catch (err) {
        throw new Error(`${String(err)}\n${await logsOf(cname('jm'))}\n${await logsOf(cname('tm'))}`);
      }
    });

    test('an agent container serves /healthz and /metrics, observing the job', { skip: helm ? false : 'needs the engine containers' }, async () => {
      assert.ok(jobId, 'the engine test ran the job');
      await runDetached(cname('agent'), [
        'agent', '--host', '127.0.0.1', '--port', String(ports.agent),
        '--flink-url', `http://127.0.0.1:${ports.rest}`,
        '--scrape', `flink=http://127.0.0.1:${ports.tmMetrics}/metrics`,
        '--scrape-interval', '1s',
      ]);
      const base = `http://127.0.0.1:${ports.agent}`;
      try {
        await waitWhileRunning('agent /healthz', [cname('agent')], async () => (await fetch(`${base}/healthz`)).ok, 60_000);
        const metrics = await waitFor('agent /metrics with a successful scrape of the TaskManager', async () => {
          const text = await (await fetch(`${base}/metrics`)).text();
          return /^flowpilot_/m.test(text) && text;
        }, 60_000, 500);
        assert.match(metrics, /^# TYPE flowpilot_\w+ /m);
        type Vector = { data: { result: Array<{ value: [number, string] }> } };
        await waitFor('the agent stores the TaskManager series', async () => {
          const r = (await getJson(`${base}/api/v1/query?query=${encodeURIComponent('count(flink_taskmanager_job_task_numRecordsIn)')}`)) as Vector;
          return Number(r.data.result[0]?.value[1] ?? 0) > 0;
        }, 60_000, 500);
      } catch (err) {
        throw new Error(`${String(err)}\n${await logsOf(cname('agent'))}`);
      }
    });
  });
});
