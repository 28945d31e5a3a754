/** Job overview: status, uptime, restarts, records in/out, source lag and watermark lag. */
import { jobSel, type DashboardSpec } from './layout.ts';

export const jobOverview: DashboardSpec = {
  uid: 'flowpilot-job-overview',
  title: 'flowpilot / Job overview',
  description: 'Status, uptime, restarts, throughput and lag of Flink-style jobs (flowpilot engine or Apache Flink).',
  rows: [
    {
      title: 'Status',
      panels: [
        { title: 'Running jobs', kind: 'stat', queries: [{ expr: 'sum(flink_jobmanager_numRunningJobs{namespace=~"$namespace"})', instant: true }] },
        { title: 'Uptime', kind: 'stat', unit: 'ms', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_uptime{${jobSel}})`, legend: '{{job_name}}', instant: true }] },
        { title: 'Restarts', kind: 'stat', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_numRestarts{${jobSel}})`, legend: '{{job_name}}', instant: true }] },
        { title: 'Restarts in the last hour', kind: 'stat', queries: [{ expr: `sum by (job_name) (increase(flink_jobmanager_job_numRestarts{${jobSel}}[1h]))`, legend: '{{job_name}}', instant: true }] },
        { title: 'Job uptime over time', kind: 'timeseries', unit: 'ms', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_uptime{${jobSel}})`, legend: '{{job_name}}' }] },
        { title: 'Restarts over time', kind: 'timeseries', queries: [{ expr: `max by (job_name) (flink_jobmanager_job_numRestarts{${jobSel}})`, legend: '{{job_name}}' }] },
      ],
    },
    {
      title: 'Throughput',
      panels: [
        {
          title: 'Records in / s by task', kind: 'timeseries', unit: 'rps', min: 0,
          queries: [{ expr: `sum by (job_name, task_name) (rate(flink_taskmanager_job_task_numRecordsIn{${jobSel}}[$__rate_interval]))`, legend: '{{task_name}}' }],
        },
        {
          title: 'Records out / s by task', kind: 'timeseries', unit: 'rps', min: 0,
          queries: [{ expr: `sum by (job_name, task_name) (rate(flink_taskmanager_job_task_numRecordsOut{${jobSel}}[$__rate_interval]))`, legend: '{{task_name}}' }],
        },
      ],
    },
    {
      title: 'Lag',
      panels: [
        {
          title: 'Source lag (pending records)', kind: 'timeseries', min: 0,
          description: 'Records due at the sources but not yet read: Kafka lag, or the generator\'s backlog.',
          queries: [{ expr: `sum by (job_name, task_name) (flink_taskmanager_job_task_operator_pendingRecords{${jobSel}})`, legend: '{{task_name}}' }],
        },
        {
          title: 'Watermark lag', kind: 'timeseries', unit: 'ms',
          description: 'Wall-clock time minus the lowest output watermark, per task.',
          queries: [{ expr: `time() * 1000 - min by (job_name, task_name) (flink_taskmanager_job_task_operator_currentOutputWatermark{${jobSel}} > 0)`, legend: '{{task_name}}' }],
        },
      ],
    },
  ],
};
