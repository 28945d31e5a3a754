/**
 * Runs the real helm binaries (fetched by scripts/fetch-helm.sh into .tools/) and validates what
 * they render: built-in kinds with kubernetes-models, monitoring.coreos.com kinds with the
 * prometheus-operator models, and FlinkDeployments / FlinkSessionJobs against the operator's real
 * CRD schema (../shared/flink-operator, through test/support/fake-kube/flink-crd.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { flinkCrdErrors, isFlinkCrdKind } from '../support/fake-kube/flink-crd.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'charts', 'flowpilot');

export interface HelmBinary {
  label: string;
  path: string;
}

export function helmBinaries(): HelmBinary[] {
  return [
    { label: 'helm 4.1.4', path: join(repoRoot, '.tools/helm4/helm/helm') },
    { label: 'helm 3.18.0', path: join(repoRoot, '.tools/helm3/helm/helm') },
  ];
}

/** Why the helm tests cannot run here, or null. Under CI a missing binary is an error, not a skip. */
export function missingHelm(): string | null {
  const missing = helmBinaries().filter((h) => !existsSync(h.path));
  if (missing.length === 0) return null;
  const reason = `missing ${missing.map((m) => m.path).join(', ')}: run bash scripts/fetch-helm.sh`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

/** The API versions a cluster with the Prometheus and Flink operators would report. */
export const apiVersionArgs = [
  '--kube-version', '1.30.0',
  '--api-versions', 'monitoring.coreos.com/v1',
  '--api-versions', 'monitoring.coreos.com/v1/PodMonitor',
  '--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor',
  '--api-versions', 'monitoring.coreos.com/v1/PrometheusRule',
  '--api-versions', 'flink.apache.org/v1beta1',
];

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export function template(helm: HelmBinary, args: string[]): K8sObject[] {
  const out = execFileSync(helm.path, ['template', 'rel', chartDir, '--namespace', 'streaming', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

export function runHelm(helm: HelmBinary, args: string[]): { status: number; output: string } {
  const res = spawnSync(helm.path, args, { encoding: 'utf8' });
  return { status: res.status ?? 1, output: `${res.stdout}${res.stderr}` };
}


/** Validates one rendered object against the model for its apiVersion/kind; throws with the reason. */
export async function validateObject(obj: K8sObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  if (group === 'flink.apache.org') {
    if (!isFlinkCrdKind(obj.kind)) throw new Error(`no CRD for ${obj.apiVersion} ${obj.kind}`);
    const errors = flinkCrdErrors(obj.kind, obj, version);
    if (errors.length > 0) throw new Error(`${obj.kind}/${obj.metadata.name} breaks the operator's CRD: ${errors.join('; ')}`);
    return;
  }
  const modulePath =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${obj.kind}`
      : group === ''
        ? `kubernetes-models/${version}/${obj.kind}`
        : `kubernetes-models/${group}/${version}/${obj.kind}`;
  const mod = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}
