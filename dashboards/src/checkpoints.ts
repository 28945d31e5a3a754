/** Checkpoints: duration, size, completions and failures. */
import { jobSel, type DashboardSpec } from './layout.ts';

export const checkpoints: DashboardSpec = {
  uid: 'flowpilot-checkpoints',
  title: 'flowpilot / Checkpoints',
  description: 'Checkpoint duration, size and failures per job.',
  rows: [
    {
      title: 'Checkpoints',
      panels: [
        { title: 'Last checkpoint duration', kind: 'timeseries', unit: 'ms', min: 0, queries: [{ expr: `max by (job_name) (flink_jobmanager_job_lastCheckpointDuration{${jobSel}} >= 0)`, legend: '{{job_name}}' }] },
        { title: 'Last checkpoint size', kind: 'timeseries', unit: 'bytes', min: 0, queries: [{ expr: `max by (job_name) (flink_jobmanager_job_lastCheckpointSize{${jobSel}} >= 0)`, legend: '{{job_name}}' }] },
        { title: 'Completed checkpoints / min', kind: 'timeseries', min: 0, queries: [{ expr: `sum by (job_name) (increase(flink_jobmanager_job_numberOfCompletedCheckpoints{${jobSel}}[5m])) / 5`, legend: '{{job_name}}' }] },
        { title: 'Failed checkpoints', kind: 'timeseries', min: 0, queries: [{ expr: `max by (job_name) (flink_jobmanager_job_numberOfFailedCheckpoints{${jobSel}})`, legend: '{{job_name}}' }] },
        { title: 'In-progress checkpoints', kind: 'stat', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_numberOfInProgressCheckpoints{${jobSel}})`, legend: '{{job_name}}', instant: true }] },
        { title: 'Completed checkpoints', kind: 'stat', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_numberOfCompletedCheckpoints{${jobSel}})`, legend: '{{job_name}}', instant: true }] },
      ],
    },
  ],
};
