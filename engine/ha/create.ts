/**
 * Builds the JobManager's HA services from its configuration (high-availability.type,
 * high-availability.storageDir, high-availability.cluster-id / kubernetes.cluster-id,
 * kubernetes.namespace). The Kubernetes store (and @kubernetes/client-node) loads only when used.
 */
import { readFileSync } from 'node:fs';
import { FlowpilotError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { JobManagerConfig } from '../config/options.ts';
import { FileSystemHaServices, parseHaType, type HaServices } from './ha-services.ts';

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export async function createHaServices(config: JobManagerConfig, log: Logger): Promise<HaServices | null> {
  let type;
  try {
    type = parseHaType(config['high-availability.type']);
  } catch (err) {
    throw new FlowpilotError('FP_ENGINE_CONFIG', (err as Error).message);
  }
  if (type === 'none') return null;
  const storageDir = config['high-availability.storageDir'];
  if (!storageDir) throw new FlowpilotError('FP_ENGINE_CONFIG', `high-availability.type ${type} needs high-availability.storageDir`);
  const clusterId = config['kubernetes.cluster-id'] ?? config['high-availability.cluster-id'];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterId) || clusterId.length > 45) {
    throw new FlowpilotError('FP_ENGINE_CONFIG', `cluster id "${clusterId}" must be a DNS label (lowercase letters, digits, '-'; at most 45 characters)`);
  }
  if (type === 'filesystem') return new FileSystemHaServices(storageDir, clusterId);
  const { KubernetesHaServices } = await import('./kubernetes-store.ts');
  let namespace = config['kubernetes.namespace'];
  if (!namespace) {
    try {
      namespace = readFileSync(SA_NAMESPACE, 'utf8').trim();
    } catch {
      namespace = 'default';
    }
  }
  return KubernetesHaServices.fromDefaultConfig({ storageDir, clusterId, namespace, log });
}
