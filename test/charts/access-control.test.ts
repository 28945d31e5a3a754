import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse } from 'yaml';
import { apiVersionArgs, chartDir, helmBinaries, missingHelm, runHelm, template, validateObject, type K8sObject } from './helm.ts';
import { parseAgentConfig } from '../../agent/process/config.ts';
import { webConfigSchema } from '../../agent/server/web-config.ts';

const skip = missingHelm();
const accessValues = join(import.meta.dirname, 'access-control-values.yaml');

interface Container {
  name: string;
  args?: string[];
  livenessProbe?: { httpGet?: { path: string }; tcpSocket?: { port: string } };
  readinessProbe?: { httpGet?: { path: string }; tcpSocket?: { port: string } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string }; configMap?: { name: string } }>;
}

/** Every pod spec that runs the agent: Deployments, and the FlinkDeployment's JobManager pod template in operator-sidecar mode. */
function agentPods(objs: K8sObject[]): PodSpec[] {
  const pods: PodSpec[] = [];
  for (const o of objs) {
    const spec = o.spec as { template?: { spec?: PodSpec }; jobManager?: { podTemplate?: { spec?: PodSpec } } } | undefined;
    const pod = spec?.template?.spec ?? spec?.jobManager?.podTemplate?.spec;
    if (pod?.containers.some((c) => c.name === 'agent')) pods.push(pod);
  }
  return pods;
}

function agentConfig(objs: K8sObject[]) {
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-agent')) as unknown as { data: Record<string, string> };
  return parseAgentConfig(parse(cm.data['agent.yaml']!) as unknown, 'agent.yaml');
}

/** The Secret a path is mounted from in this pod, or null. */
function secretOf(pod: PodSpec, c: Container, path: string): string | null {
  const m = (c.volumeMounts ?? []).find((vm) => path.startsWith(`${vm.mountPath}/`));
  const v = m && pod.volumes?.find((x) => x.name === m.name);
  return v?.secret?.secretName ?? null;
}

function filesIn(value: unknown, out: string[] = []): string[] {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('_file') && typeof v === 'string') out.push(v);
      else filesIn(v, out);
    }
  }
  return out;
}

for (const helm of helmBinaries()) {
  describe(`the chart's access control under ${helm.label}`, { skip: skip ?? false }, () => {
    it('is off by default: plain HTTP probes, no web config, no lifecycle API', () => {
      const objs = template(helm, apiVersionArgs);
      for (const pod of agentPods(objs)) {
        const c = pod.containers.find((x) => x.name === 'agent')!;
        assert.ok(!c.args?.some((a) => a.startsWith('--web.')), c.args?.join(' '));
        assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
      }
      assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0);
    });

    for (const mode of [[], ['-f', join(chartDir, 'ci', '02-agent-only-rest-values.yaml')], ['-f', join(chartDir, 'ci', '04-operator-sidecar-values.yaml')]]) {
      const label = mode.length === 0 ? 'engine' : mode[1]!.replace(/.*\/\d+-|-values\.yaml$/g, '');
      it(`mounts the web config, its certificates and the clients' secrets from Secrets (${label} mode)`, async () => {
        const lint = runHelm(helm, ['lint', '--strict', chartDir, ...mode, '-f', accessValues]);
        assert.equal(lint.status, 0, lint.output);
        const objs = template(helm, [...apiVersionArgs, ...mode, '-f', accessValues]);
        for (const o of objs) await validateObject(o);
        const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'rel-flowpilot-web') as unknown as { stringData: Record<string, string> };
        const web = webConfigSchema.parse(parse(secret.stringData['web.yml']!));
        assert.equal(web.tls_server_config?.client_auth_type, 'RequireAndVerifyClientCert');
        assert.deepEqual(Object.keys(web.basic_auth_users ?? {}), ['grafana']);

        const pods = agentPods(objs);
        assert.equal(pods.length, 1);
        const pod = pods[0]!;
        const c = pod.containers.find((x) => x.name === 'agent')!;
        const at = c.args!.indexOf('--web.config.file');
        assert.ok(at > 0 && c.args!.includes('--web.enable-lifecycle'), c.args!.join(' '));
        assert.equal(secretOf(pod, c, c.args![at + 1]!), 'rel-flowpilot-web', 'the web config comes from the rendered Secret');
        for (const f of filesIn(web)) assert.equal(secretOf(pod, c, f), 'agent-tls', `${f} is mounted from agent.web.tlsSecret`);
        assert.deepEqual([c.livenessProbe?.tcpSocket?.port, c.readinessProbe?.tcpSocket?.port], ['agent-http', 'agent-http'], 'kubelet has no client certificate or password: TCP probes');
        assert.ok((c.volumeMounts ?? []).filter((m) => m.mountPath.startsWith('/etc/flowpilot/')).every((m) => m.readOnly), 'secrets are mounted read-only');

        const config = agentConfig(objs);
        assert.ok(config.flink.httpConfig?.tls_config?.cert_file);
        assert.equal(config.alerting.httpConfig?.authorization?.credentials_file, '/etc/flowpilot/secrets/alertmanager/token');
        const clientFiles = [...filesIn(config.flink.httpConfig), ...filesIn(config.alerting.httpConfig)];
        assert.equal(clientFiles.length, 4);
        for (const f of clientFiles) assert.ok(['flink-client-tls', 'am-token'].includes(secretOf(pod, c, f) ?? ''), `${f} is mounted from a clientSecrets entry`);
      });
    }

    it('lets the engine-mode sidecar reach a TLS (mutual) REST endpoint through agent.flinkHttpConfig', () => {
      const objs = template(helm, [...apiVersionArgs,
        '--set', 'engine.rest.tls.enabled=true', '--set', 'engine.rest.tls.mutual=true', '--set', 'engine.rest.tls.existingSecret=jm-tls',
        '--set', 'agent.clientSecrets[0].name=rest', '--set', 'agent.clientSecrets[0].secretName=jm-tls',
        '--set', 'agent.flinkHttpConfig.tls_config.ca_file=/etc/flowpilot/secrets/rest/ca.crt',
        '--set', 'agent.flinkHttpConfig.tls_config.cert_file=/etc/flowpilot/secrets/rest/tls.crt',
        '--set', 'agent.flinkHttpConfig.tls_config.key_file=/etc/flowpilot/secrets/rest/tls.key',
        '--set', 'agent.flinkHttpConfig.tls_config.server_name=rel-flowpilot-jobmanager']);
      const config = agentConfig(objs);
      assert.deepEqual(config.flink.urls, ['https://127.0.0.1:8081']);
      assert.equal(config.actuation.flinkRestUrl, 'https://127.0.0.1:8081');
      const pod = agentPods(objs)[0]!;
      const c = pod.containers.find((x) => x.name === 'agent')!;
      for (const f of filesIn(config.flink.httpConfig)) assert.equal(secretOf(pod, c, f), 'jm-tls', f);
    });

    it('mounts an existing Secret that holds the web config and the files it names', () => {
      const objs = template(helm, [...apiVersionArgs, '--set', 'agent.web.existingSecret=my-web', '--set', 'agent.web.secretKey=config.yml']);
      const pod = agentPods(objs)[0]!;
      const c = pod.containers.find((x) => x.name === 'agent')!;
      const file = c.args![c.args!.indexOf('--web.config.file') + 1]!;
      assert.equal(file, '/etc/flowpilot/web/config.yml');
      assert.equal(secretOf(pod, c, file), 'my-web');
      assert.ok(!c.args!.includes('--web.enable-lifecycle'));
      assert.equal(objs.filter((o) => o.kind === 'Secret').length, 0, 'the chart renders no Secret of its own then');
    });

    it('refuses values that cannot work, naming them', () => {
      const both = runHelm(helm, ['template', 'rel', chartDir, '--set', 'agent.web.existingSecret=x', '--set', 'agent.web.config.basic_auth_users.a=b']);
      assert.notEqual(both.status, 0);
      assert.match(both.output, /agent\.web\.config or agent\.web\.existingSecret, not both/);
      const bad = runHelm(helm, ['template', 'rel', chartDir, '--set', 'agent.flinkHttpConfig.bearer_token=x']);
      assert.notEqual(bad.status, 0);
      assert.match(bad.output, /bearer_token/);
    });
  });
}
