/**
 * The chart's engine-mode security: secure REST defaults (upload/run and cancel off unless the
 * agent's savepoint actuation needs them, rescale on for in-place actuation), rest.bind-address,
 * REST TLS from a Secret (created from PEM values or an existing kubernetes.io/tls Secret, with
 * optional mutual TLS), NetworkPolicies that let each component take only what it needs, and
 * template-time failures that name the value to change. Rendered by the real helm binaries and
 * validated with kubernetes-models; the JobManager's rendered --define arguments are parsed by
 * the engine's own config loader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDynamicProperties, parseJobManagerConfig } from '../../engine/config/options.ts';
import { helmBinaries, missingHelm, runHelm, chartDir, template, validateObject, type K8sObject } from './helm.ts';

const skip = missingHelm();

interface Peer { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: object }
interface Rule { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number; protocol: string }> }
interface Policy { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] } }

function jobManagerArgs(objs: K8sObject[]): string[] {
  const jm = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-jobmanager')) as unknown as {
    spec: { template: { spec: { containers: Array<{ name: string; args: string[] }> } } };
  };
  return jm.spec.template.spec.containers.find((c) => c.name === 'jobmanager')!.args;
}

/** The -D/--define pairs of the JobManager, as the engine parses them. */
function defines(objs: K8sObject[]): Record<string, string> {
  const args = jobManagerArgs(objs);
  const pairs = args.flatMap((a, i) => (a === '--define' || a === '-D' ? [args[i + 1]!] : []));
  return parseDynamicProperties(pairs);
}

function policy(objs: K8sObject[], suffix: string): Policy | undefined {
  return objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name.endsWith(suffix)) as unknown as Policy | undefined;
}

const component = (p: Peer | undefined) => p?.podSelector?.matchLabels['app.kubernetes.io/component'];

describe('chart: engine-mode REST security', { skip: skip ?? false }, () => {
  for (const helm of helmBinaries()) {
    describe(helm.label, () => {
      it('defaults to upload/run and cancel off, rescale on, REST bound to 0.0.0.0, and the engine accepts the rendered options', async () => {
        const objs = template(helm, []);
        const d = defines(objs);
        assert.equal(d['web.submit.enable'], 'false');
        assert.equal(d['web.cancel.enable'], 'false');
        assert.equal(d['web.rescale.enable'], 'true');
        assert.equal(d['rest.bind-address'], '0.0.0.0');
        const config = parseJobManagerConfig(d);
        assert.deepEqual([config['web.submit.enable'], config['web.cancel.enable'], config['web.rescale.enable']], [false, false, true]);
        assert.equal(config['security.ssl.rest.enabled'], false);
        for (const o of objs.filter((x) => x.kind === 'NetworkPolicy')) await validateObject(o);
      });

      it('turns upload/run and cancel on for savepoint actuation ("auto"), and explicit values win', () => {
        const savepoint = defines(template(helm, ['--set', 'agent.actuation=savepoint']));
        assert.deepEqual([savepoint['web.submit.enable'], savepoint['web.cancel.enable']], ['true', 'true']);
        const explicit = defines(template(helm, ['--set', 'agent.actuation=savepoint', '--set', 'engine.rest.cancel=false', '--set', 'engine.rest.rescale=false']));
        assert.deepEqual([explicit['web.submit.enable'], explicit['web.cancel.enable'], explicit['web.rescale.enable']], ['true', 'false', 'false']);
        const noAgent = defines(template(helm, ['--set', 'agent.enabled=false', '--set', 'engine.rest.submit=true']));
        assert.deepEqual([noAgent['web.submit.enable'], noAgent['web.cancel.enable']], ['true', 'false']);
      });

      it('renders NetworkPolicies: JobManager RPC from TaskManagers only, REST from nobody outside the pod by default, TaskManager egress to the JobManager, peers and DNS only', () => {
        const objs = template(helm, []);
        const jm = policy(objs, '-jobmanager')!;
        assert.equal(jm.spec.podSelector.matchLabels['app.kubernetes.io/component'], 'jobmanager');
        assert.deepEqual(jm.spec.policyTypes, ['Ingress']);
        const rpc = jm.spec.ingress!.find((r) => r.ports?.some((p) => p.port === 6123))!;
        assert.deepEqual(rpc.from!.map(component), ['taskmanager']);
        assert.ok(!jm.spec.ingress!.some((r) => r.ports?.some((p) => p.port === 8081)), 'no REST ingress without restFrom');
        const metrics = jm.spec.ingress!.find((r) => r.ports?.some((p) => p.port === 9249))!;
        assert.deepEqual(metrics.ports!.map((p) => p.port).sort(), [9249, 9269]);

        const tm = policy(objs, '-taskmanager')!;
        assert.deepEqual(tm.spec.policyTypes, ['Ingress', 'Egress']);
        const data = tm.spec.ingress!.find((r) => r.ports?.some((p) => p.port === 6124))!;
        assert.deepEqual(data.from!.map(component), ['taskmanager']);
        const egress = tm.spec.egress!.map((r) => `${component(r.to?.[0]) ?? 'any'}:${r.ports!.map((p) => `${p.port}/${p.protocol}`).join(',')}`);
        assert.deepEqual(egress, ['jobmanager:6123/TCP', 'taskmanager:6124/TCP', 'any:53/UDP,53/TCP']);

        const open = template(helm, ['--set-json', 'engine.networkPolicy.restFrom=[{"podSelector":{"matchLabels":{"role":"flink-client"}}}]']);
        const restRule = policy(open, '-jobmanager')!.spec.ingress!.find((r) => r.ports?.some((p) => p.port === 8081))!;
        assert.deepEqual(restRule.from, [{ podSelector: { matchLabels: { role: 'flink-client' } } }]);
        assert.equal(policy(template(helm, ['--set', 'engine.networkPolicy.enabled=false']), '-jobmanager'), undefined);
      });

      it('serves REST over TLS from a Secret it creates from PEM values, with mutual TLS reading ca.crt', async () => {
        const objs = template(helm, [
          '--set', 'agent.enabled=false', '--set', 'engine.rest.tls.enabled=true', '--set', 'engine.rest.tls.mutual=true',
          '--set', 'engine.rest.tls.certificate=CERT', '--set', 'engine.rest.tls.key=KEY', '--set', 'engine.rest.tls.ca=CA',
        ]);
        const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'rel-flowpilot-rest-tls') as unknown as { type: string; data: Record<string, string> };
        assert.equal(secret.type, 'kubernetes.io/tls');
        assert.deepEqual(Object.fromEntries(Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])), { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' });
        await validateObject(secret as unknown as K8sObject);
        const d = defines(objs);
        assert.equal(d['security.ssl.rest.enabled'], 'true');
        assert.equal(d['security.ssl.rest.keystore'], '/etc/flowpilot/rest-tls/tls.key,/etc/flowpilot/rest-tls/tls.crt');
        assert.equal(d['security.ssl.rest.authentication-enabled'], 'true');
        assert.equal(d['security.ssl.rest.truststore'], '/etc/flowpilot/rest-tls/ca.crt');
        const jm = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-jobmanager'))!;
        await validateObject(jm);
        const spec = (jm as unknown as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }>; containers: Array<{ name: string; volumeMounts: Array<{ name: string; mountPath: string }> }> } } } }).spec.template.spec;
        assert.equal(spec.volumes.find((v) => v.name === 'rest-tls')?.secret?.secretName, 'rel-flowpilot-rest-tls');
        assert.equal(spec.containers.find((c) => c.name === 'jobmanager')!.volumeMounts.find((m) => m.name === 'rest-tls')?.mountPath, '/etc/flowpilot/rest-tls');

        const existing = template(helm, ['--set', 'agent.enabled=false', '--set', 'engine.rest.tls.enabled=true', '--set', 'engine.rest.tls.existingSecret=from-cert-manager']);
        assert.equal(existing.find((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-rest-tls')), undefined, 'no Secret of its own');
        const vol = (existing.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-jobmanager')) as unknown as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> } } } })
          .spec.template.spec.volumes.find((v) => v.name === 'rest-tls');
        assert.equal(vol?.secret?.secretName, 'from-cert-manager');
      });

      it('fails at template time on TLS that cannot work, naming the value', () => {
        for (const [args, why] of [
          [['--set', 'agent.enabled=false', '--set', 'engine.rest.tls.enabled=true'], /engine\.rest\.tls\.existingSecret/],
          [['--set', 'agent.enabled=false', '--set', 'engine.rest.tls.enabled=true', '--set', 'engine.rest.tls.mutual=true', '--set', 'engine.rest.tls.certificate=C', '--set', 'engine.rest.tls.key=K'], /engine\.rest\.tls\.ca/],
          [['--set', 'engine.rest.tls.enabled=true', '--set', 'engine.rest.tls.existingSecret=x'], /agent\.flinkHttpConfig\.tls_config/],
          [['--set', 'engine.rest.submit=sometimes'], /submit/],
        ] as const) {
          const res = runHelm(helm, ['template', 'rel', chartDir, ...args]);
          assert.notEqual(res.status, 0, args.join(' '));
          assert.match(res.output, why);
        }
      });
    });
  }
});
