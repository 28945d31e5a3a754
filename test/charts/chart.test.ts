import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  apiVersionArgs, chartDir, helmBinaries, missingHelm, repoRoot, runHelm, template, validateObject,
  type HelmBinary, type K8sObject,
} from './helm.ts';
import { staleChartFiles } from '../../scripts/sync-chart-files.ts';
import { parseAgentConfig, type AgentConfig } from '../../agent/process/config.ts';
import { parsePolicy } from '../../agent/scaling/policy.ts';

const skip = missingHelm();
const variants = readdirSync(join(chartDir, 'ci')).filter((f) => f.endsWith('-values.yaml')).sort();

interface Container {
  name: string;
  args?: string[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
}

function find(objs: K8sObject[], kind: string, nameSuffix = ''): K8sObject | undefined {
  return objs.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
}
function podSpec(obj: K8sObject): PodSpec {
  return (obj as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
}
/** The agent's config file as the chart renders it, parsed by the agent's own config loader. */
function agentConfigOf(objs: K8sObject[]): AgentConfig {
  const cm = find(objs, 'ConfigMap', '-agent') as unknown as { data: Record<string, string> };
  parsePolicy(cm.data['policy.yaml'] ?? '', 'policy.yaml');
  return parseAgentConfig(parse(cm.data['agent.yaml'] ?? '') as unknown, 'agent.yaml');
}
function renderVariant(helm: HelmBinary, file: string, extra: string[] = []): K8sObject[] {
  return template(helm, ['-f', join(chartDir, 'ci', file), ...apiVersionArgs, ...extra]);
}
function assertHardened(c: Container, pod: PodSpec): void {
  const sc = c.securityContext ?? {};
  assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: read-only root filesystem`);
  assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
  assert.deepEqual((sc.capabilities as { drop?: string[] } | undefined)?.drop, ['ALL'], `${c.name}: drops ALL`);
  assert.equal(pod.securityContext?.runAsNonRoot, true, 'pod runs as non-root');
  assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
}

for (const helm of helmBinaries()) {
  describe(`the chart under ${helm.label}`, { skip: skip ?? false }, () => {
    it('passes helm lint --strict with the defaults and with every ci values file', () => {
      for (const extra of [[], ...variants.map((v) => ['-f', join(chartDir, 'ci', v)])]) {
        const res = runHelm(helm, ['lint', '--strict', chartDir, ...extra]);
        assert.equal(res.status, 0, res.output);
      }
    });

    it('renders every ci variant into objects that validate against their schemas', async () => {
      for (const v of variants) {
        const objs = renderVariant(helm, v);
        assert.ok(objs.length > 3, `${v} rendered ${objs.length} objects`);
        for (const obj of objs) await validateObject(obj);
        const config = agentConfigOf(objs);
        const agentOnly = objs.some((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-agent'));
        assert.equal(config.actuation.leaderElection.enabled, agentOnly, `${v}: leader election in agent-only mode, never for a sidecar`);
      }
    });

    it('hardens every container and probes /healthz and /readyz', () => {
      for (const v of variants) {
        for (const obj of renderVariant(helm, v).filter((o) => o.kind === 'Deployment')) {
          const pod = podSpec(obj);
          for (const c of pod.containers) {
            assertHardened(c, pod);
            assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${v} ${c.name}`);
            assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${v} ${c.name}`);
          }
        }
      }
    });

    it('installs with defaults that can scale: more slots than the job\'s parallelism', () => {
      const objs = template(helm, apiVersionArgs);
      const tm = find(objs, 'Deployment', '-taskmanager') as unknown as { spec: { replicas: number; template: { spec: PodSpec } } };
      const jm = find(objs, 'Deployment', '-jobmanager');
      assert.ok(tm && jm);
      const argAfter = (args: string[] | undefined, flag: string): number => Number(args?.[(args?.indexOf(flag) ?? -2) + 1]);
      const slots = tm.spec.replicas * argAfter(tm.spec.template.spec.containers[0]!.args, '--slots');
      const parallelism = argAfter(podSpec(jm).containers.find((c) => c.name === 'jobmanager')?.args, '--parallelism');
      assert.ok(Number.isFinite(slots) && Number.isFinite(parallelism), `slots ${slots}, parallelism ${parallelism}`);
      assert.ok(slots > parallelism, `${slots} slots for a job at parallelism ${parallelism}: no room to scale up in place`);
    });

    describe('engine mode', () => {
      let objs: K8sObject[] = [];
      before(() => { objs = renderVariant(helm, '01-engine-values.yaml'); });

      it('runs the agent as a sidecar of the JobManager, talking to it over localhost', () => {
        const jm = find(objs, 'Deployment', '-jobmanager');
        assert.ok(jm);
        const names = podSpec(jm).containers.map((c) => c.name);
        assert.deepEqual(names, ['jobmanager', 'agent']);
        const config = agentConfigOf(objs);
        assert.deepEqual(config.flink.urls, ['http://127.0.0.1:8081']);
        assert.equal(config.actuation.mode, 'in-place');
        assert.equal(config.actuation.defaults.taskManagerWorkload?.name, 'rel-flowpilot-taskmanager');
        assert.equal(config.dryRun, false);
      });

      it('renders a TaskManager Deployment with the requested replicas and a kept PVC for state', () => {
        const tm = find(objs, 'Deployment', '-taskmanager') as unknown as { spec: { replicas: number } };
        assert.equal(tm.spec.replicas, 3);
        const pvc = find(objs, 'PersistentVolumeClaim');
        assert.equal(pvc?.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      });

      it('runs the JobManager with Kubernetes HA on the storage volume and grants it ConfigMaps only', () => {
        const jm = podSpec(find(objs, 'Deployment', '-jobmanager')!).containers.find((c) => c.name === 'jobmanager')!;
        const defines = (jm.args ?? []).filter((_a, i, all) => all[i - 1] === '--define' || all[i - 1] === '-D');
        for (const d of ['high-availability.type=kubernetes', 'high-availability.storageDir=/data/ha', 'kubernetes.cluster-id=rel-flowpilot', 'kubernetes.namespace=streaming']) {
          assert.ok(defines.includes(d), `${d} in ${defines.join(' ')}`);
        }
        const role = find(objs, 'Role', '-jobmanager-ha') as unknown as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
        assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update', 'delete'] }]);
        assert.ok(find(objs, 'RoleBinding', '-jobmanager-ha'));
        const none = renderVariant(helm, '01-engine-values.yaml', ['--set', 'engine.highAvailability.type=none']);
        assert.equal(find(none, 'Role', '-jobmanager-ha'), undefined);
        assert.ok(!(podSpec(find(none, 'Deployment', '-jobmanager')!).containers[0]!.args ?? []).some((a) => a.startsWith('high-availability.')));
      });

      it('grants the scale subresource of its own TaskManager Deployment only', () => {
        const role = find(objs, 'Role') as unknown as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> };
        const scale = role.rules.find((r) => r.resources.includes('deployments/scale'));
        assert.deepEqual(scale?.verbs, ['get', 'patch']);
        assert.deepEqual(scale?.resourceNames, ['rel-flowpilot-taskmanager']);
        assert.ok(!role.rules.some((r) => r.resources.includes('deployments')), 'no access to whole Deployments');
        assert.ok(!role.rules.some((r) => r.apiGroups.includes('coordination.k8s.io')), 'no leases without leader election');
      });

      it('renders the PodMonitor and PrometheusRule only when the cluster serves their API', () => {
        assert.ok(find(objs, 'PodMonitor'));
        const rule = find(objs, 'PrometheusRule') as unknown as { spec: { groups: Array<{ name: string }> } };
        const packGroups = readdirSync(join(repoRoot, 'rules')).filter((f) => f.endsWith('.yml'))
          .flatMap((f) => (parse(readFileSync(join(repoRoot, 'rules', f), 'utf8')) as { groups: Array<{ name: string }> }).groups.map((g) => g.name));
        assert.deepEqual(rule.spec.groups.map((g) => g.name).sort(), packGroups.sort());
        const offline = template(helm, ['-f', join(chartDir, 'ci', '01-engine-values.yaml')]);
        assert.equal(find(offline, 'PodMonitor'), undefined);
        assert.equal(find(offline, 'PrometheusRule'), undefined);
      });

      it('labels every dashboard ConfigMap for the Grafana sidecar', () => {
        const dashboards = readdirSync(join(chartDir, 'files', 'dashboards')).filter((f) => f.endsWith('.json'));
        const cms = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
        assert.equal(cms.length, dashboards.length);
      });
    });

    describe('agent-only mode', () => {
      it('adds a PodDisruptionBudget and lease rights when several replicas elect a leader', () => {
        const objs = renderVariant(helm, '02-agent-only-rest-values.yaml');
        const pdb = find(objs, 'PodDisruptionBudget') as unknown as { spec: { maxUnavailable: number } };
        assert.equal(pdb.spec.maxUnavailable, 1);
        const role = find(objs, 'Role') as unknown as { rules: Array<{ apiGroups: string[]; verbs: string[]; resourceNames?: string[] }> };
        const leases = role.rules.filter((r) => r.apiGroups.includes('coordination.k8s.io'));
        assert.deepEqual(leases.map((r) => r.verbs), [['create'], ['get', 'update']]);
        assert.deepEqual(leases[1]?.resourceNames, ['rel-flowpilot-agent-leader']);
        assert.equal(find(objs, 'Deployment', '-jobmanager'), undefined);
        const cm = find(objs, 'ConfigMap', '-rules') as unknown as { data: Record<string, string> };
        assert.ok(cm.data['team-rules.yml']?.includes('OrdersJobDown'), 'user rules are in the rules ConfigMap');
      });

      it('patches a named FlinkDeployment and records only in dry-run', () => {
        const objs = renderVariant(helm, '03-agent-only-flinkdeployment-values.yaml');
        assert.equal(find(objs, 'PodDisruptionBudget'), undefined);
        const config = agentConfigOf(objs);
        assert.equal(config.actuation.mode, 'dry-run');
        assert.equal(config.dryRun, true);
        assert.equal(config.actuation.defaults.flinkDeployment?.name, 'orders');
        assert.deepEqual(config.flink.urls, ['http://orders-rest.streaming.svc:8081']);
      });
    });

    it('puts the agent beside flink-main-container in an operator FlinkDeployment, with the user\'s rules ConfigMap', () => {
      const objs = renderVariant(helm, '04-operator-sidecar-values.yaml');
      const fd = find(objs, 'FlinkDeployment') as unknown as { spec: { jobManager: { podTemplate: { spec: PodSpec } }; job: { parallelism: number } } };
      const pod = fd.spec.jobManager.podTemplate.spec;
      assert.deepEqual(pod.containers.map((c) => c.name), ['flink-main-container', 'agent']);
      assert.equal(pod.volumes?.find((v) => v.name === 'rules')?.configMap?.name, 'my-team-rules');
      assert.equal(find(objs, 'ConfigMap', '-rules'), undefined);
      assert.equal(fd.spec.job.parallelism, 4);
    });

    describe('operator-sidecar mode', () => {
      let objs: K8sObject[] = [];
      before(() => { objs = renderVariant(helm, '04-operator-sidecar-values.yaml'); });

      it('points the agent at the FlinkDeployment\'s REST Service, <name>-rest.<namespace>.svc:8081', () => {
        const config = agentConfigOf(objs);
        const fd = find(objs, 'FlinkDeployment')!;
        assert.equal(fd.metadata.name, 'rel-flowpilot');
        assert.deepEqual(config.flink.urls, ['http://rel-flowpilot-rest.streaming.svc:8081']);
        assert.equal(config.actuation.flinkRestUrl, 'http://rel-flowpilot-rest.streaming.svc:8081');
        assert.equal(config.actuation.mode, 'flink-deployment');
        assert.equal(config.actuation.defaults.flinkDeployment?.name, 'rel-flowpilot');
      });

      it('renders a FlinkDeployment the operator\'s CRD accepts, ready for in-place rescaling', async () => {
        const fds = objs.filter((o) => o.kind === 'FlinkDeployment' || o.kind === 'FlinkSessionJob');
        assert.equal(fds.length, 1);
        for (const o of fds) await validateObject(o);
        const spec = fds[0]!.spec as { serviceAccount: string; mode?: string; flinkConfiguration: Record<string, string>; job: { upgradeMode: string } };
        assert.equal(spec.serviceAccount, 'rel-flowpilot');
        assert.equal(spec.mode, undefined, 'NATIVE mode (the default)');
        assert.equal(spec.flinkConfiguration['jobmanager.scheduler'], 'adaptive', 'in-place rescaling needs the adaptive scheduler');
        assert.equal(spec.flinkConfiguration['state.checkpoints.dir'], 's3://flowpilot-ci/checkpoints');
        assert.equal(spec.flinkConfiguration['state.savepoints.dir'], 's3://flowpilot-ci/savepoints');
      });

      it('fails at template time, naming the value to set, when the upgrade mode needs a directory that is missing', () => {
        const base = ['--set', 'mode=operator-sidecar'];
        const cases: Array<[string[], RegExp | null]> = [
          [['--set', 'flinkDeployment.upgradeMode=savepoint'], /flinkDeployment\.flinkConfiguration\."state\.checkpoints\.dir"/],
          [['--set', 'flinkDeployment.upgradeMode=last-state'], /flinkDeployment\.flinkConfiguration\."state\.checkpoints\.dir"/],
          [['--set', 'flinkDeployment.upgradeMode=savepoint', '--set', 'flinkDeployment.flinkConfiguration.state\\.checkpoints\\.dir=s3://b/c'], /flinkDeployment\.flinkConfiguration\."state\.savepoints\.dir"/],
          [['--set', 'flinkDeployment.upgradeMode=last-state', '--set', 'flinkDeployment.flinkConfiguration.state\\.checkpoints\\.dir=s3://b/c'], null],
          [['--set', 'flinkDeployment.upgradeMode=stateless'], null],
          [['--set', 'flinkDeployment.upgradeMode=stateless', '--set', 'fullnameOverride=a-flink-deployment-name-longer-than-forty-five-chars'], /longer than 45 characters/],
        ];
        for (const [args, error] of cases) {
          const res = runHelm(helm, ['template', 'rel', chartDir, ...apiVersionArgs, ...base, ...args]);
          if (error) {
            assert.notEqual(res.status, 0, `${args.join(' ')} should fail`);
            assert.match(res.output, error);
          } else {
            assert.equal(res.status, 0, `${args.join(' ')}: ${res.output}`);
          }
        }
      });
    });

    it('refuses values that break the schema or the chart\'s own rules', () => {
      const bad: string[][] = [
        ['--set', 'mode=bogus'],
        ['--set', 'engine.taskmanager.replicas=-1'],
        ['--set', 'engine.jobmanager.resources.limits.memory=lots'],
        ['--set', 'agent.scrapeInterval=often'],
        ['--set', 'unknownKey=1'],
        ['--set', 'mode=agent-only'],
        ['--set', 'mode=agent-only', '--set', 'agentOnly.flinkRestUrl=http://x:8081', '--set', 'agentOnly.replicas=2', '--set', 'agentOnly.leaderElection.enabled=false'],
      ];
      for (const args of bad) {
        const res = runHelm(helm, ['template', 'rel', chartDir, ...args]);
        assert.notEqual(res.status, 0, `expected failure for ${args.join(' ')}`);
      }
    });
  });
}

it('keeps the chart\'s copies of the rule pack and dashboards in sync with the sources', () => {
  assert.deepEqual(staleChartFiles(), []);
});
