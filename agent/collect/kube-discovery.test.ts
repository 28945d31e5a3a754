import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { podTargets } from './kube-discovery.ts';

function pod(name: string, over: { annotations?: Record<string, string>; ip?: string; phase?: string; ports?: Array<{ name?: string; containerPort: number }> } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'flink', annotations: over.annotations ?? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9249' } },
    spec: { containers: [{ name: 'tm', ports: over.ports ?? [] }] },
    status: { phase: over.phase ?? 'Running', podIP: over.ip ?? '10.0.0.1' },
  };
}

describe('pod discovery filtering', () => {
  it('keeps annotated running pods and builds the scrape URL from port, path and scheme annotations', () => {
    const targets = podTargets(
      [
        pod('tm-1', { ip: '10.0.0.2', annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9250', 'prometheus.io/path': 'stats', 'prometheus.io/scheme': 'https' } }),
        pod('tm-0', { ip: '10.0.0.1' }),
      ],
      'flink',
    );
    assert.deepEqual(targets, [
      { url: 'http://10.0.0.1:9249/metrics', labels: { job: 'flink', instance: '10.0.0.1:9249', namespace: 'flink', pod: 'tm-0' } },
      { url: 'https://10.0.0.2:9250/stats', labels: { job: 'flink', instance: '10.0.0.2:9250', namespace: 'flink', pod: 'tm-1' } },
    ]);
  });

  it('drops pods that are not annotated, have no IP, have finished, or name no usable port', () => {
    const targets = podTargets(
      [
        pod('no-annotation', { annotations: {} }),
        pod('scrape-false', { annotations: { 'prometheus.io/scrape': 'false', 'prometheus.io/port': '1' } }),
        pod('no-ip', { ip: '' }),
        pod('done', { phase: 'Succeeded' }),
        pod('bad-port', { annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': 'http' } }),
        pod('no-port', { annotations: { 'prometheus.io/scrape': 'true' } }),
      ],
      'flink',
    );
    assert.deepEqual(targets, []);
  });

  it('falls back to the container port named metrics, then the first port, and brackets IPv6', () => {
    const t = podTargets(
      [
        pod('a', { ip: 'fd00::1', annotations: { 'prometheus.io/scrape': 'true' }, ports: [{ name: 'rpc', containerPort: 6122 }, { name: 'metrics', containerPort: 9249 }] }),
        pod('b', { ip: '10.0.0.9', annotations: { 'prometheus.io/scrape': 'true' }, ports: [{ containerPort: 8081 }] }),
      ],
      'j',
    );
    assert.deepEqual(t.map((x) => x.url).sort(), ['http://10.0.0.9:8081/metrics', 'http://[fd00::1]:9249/metrics']);
  });
});
