/**
 * The FlinkDeployment objects the fleet tests and the fleet bench put on the fake API server:
 * a valid spec (the fake server validates against the operator's CRD), opted in or not by the
 * annotations and labels given.
 */

export const FLINK_DEPLOYMENTS = 'flinkdeployments.flink.apache.org';
export const FLINK_SESSION_JOBS = 'flinksessionjobs.flink.apache.org';
export const OPT_IN: Readonly<Record<string, string>> = { 'flowpilot.io/autoscale': 'true' };

export interface FlinkDeploymentFixture {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** spec.flinkConfiguration */
  conf?: Record<string, string>;
  /** spec.job.parallelism of an application deployment; null: a session cluster (no spec.job) */
  parallelism?: number | null;
  /** spec.taskManager.replicas */
  taskManagers?: number;
}

export function flinkDeployment(name: string, o: FlinkDeploymentFixture = {}): Record<string, unknown> {
  const parallelism = o.parallelism === undefined ? 2 : o.parallelism;
  return {
    apiVersion: 'flink.apache.org/v1beta1', kind: 'FlinkDeployment',
    metadata: { name, ...(o.annotations ? { annotations: { ...o.annotations } } : {}), ...(o.labels ? { labels: { ...o.labels } } : {}) },
    spec: {
      image: 'flink:1.20', flinkVersion: 'v1_20', serviceAccount: 'flink',
      flinkConfiguration: { ...(o.conf ?? {}) },
      jobManager: { resource: { memory: '1g', cpu: 1 } },
      taskManager: { ...(o.taskManagers !== undefined ? { replicas: o.taskManagers } : {}), resource: { memory: '1g', cpu: 1 } },
      ...(parallelism !== null ? { job: { jarURI: 'local:///opt/flink/job.jar', parallelism, upgradeMode: 'stateless' } } : {}),
    },
  };
}

/** An opted-in application FlinkDeployment backed by a replay or engine REST endpoint on `restPort` (adaptive scheduler, 4 slots per TaskManager). */
export function optedInDeployment(name: string, restPort: number, o: FlinkDeploymentFixture = {}): Record<string, unknown> {
  return flinkDeployment(name, {
    taskManagers: 2, ...o,
    annotations: { ...OPT_IN, ...(o.annotations ?? {}) },
    conf: { 'jobmanager.scheduler': 'adaptive', 'taskmanager.numberOfTaskSlots': '4', 'rest.port': String(restPort), ...(o.conf ?? {}) },
  });
}
