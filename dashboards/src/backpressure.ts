/** Backpressure and busy time, per vertex (task) and per subtask. */
import { jobSel, type DashboardSpec } from './layout.ts';

export const backpressure: DashboardSpec = {
  uid: 'flowpilot-backpressure',
  title: 'flowpilot / Backpressure and busy time',
  description: 'Where a job spends its time: busy, idle or backpressured, per vertex and subtask (ms per second).',
  rows: [
    {
      title: 'Per vertex',
      panels: [
        { title: 'Busy time (max over subtasks)', kind: 'timeseries', unit: 'ms', min: 0, max: 1000, queries: [{ expr: `max by (job_name, task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond{${jobSel}})`, legend: '{{task_name}}' }] },
        { title: 'Backpressured time (max over subtasks)', kind: 'timeseries', unit: 'ms', min: 0, max: 1000, queries: [{ expr: `max by (job_name, task_name) (flink_taskmanager_job_task_backPressuredTimeMsPerSecond{${jobSel}})`, legend: '{{task_name}}' }] },
        { title: 'Idle time (min over subtasks)', kind: 'timeseries', unit: 'ms', min: 0, max: 1000, queries: [{ expr: `min by (job_name, task_name) (flink_taskmanager_job_task_idleTimeMsPerSecond{${jobSel}})`, legend: '{{task_name}}' }] },
        {
          title: 'Busy skew (max / avg)', kind: 'timeseries', min: 1,
          description: 'Above ~1.5 the load is skewed across subtasks; more parallelism helps less.',
          queries: [{ expr: `max by (job_name, task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond{${jobSel}}) / clamp_min(avg by (job_name, task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond{${jobSel}}), 1)`, legend: '{{task_name}}' }],
        },
      ],
    },
    {
      title: 'Per subtask',
      panels: [
        { title: 'Busy time by subtask', kind: 'timeseries', unit: 'ms', min: 0, max: 1000, queries: [{ expr: `flink_taskmanager_job_task_busyTimeMsPerSecond{${jobSel}}`, legend: '{{task_name}} #{{subtask_index}}' }] },
        { title: 'Backpressured time by subtask', kind: 'timeseries', unit: 'ms', min: 0, max: 1000, queries: [{ expr: `flink_taskmanager_job_task_backPressuredTimeMsPerSecond{${jobSel}}`, legend: '{{task_name}} #{{subtask_index}}' }] },
        { title: 'Backpressured subtasks', kind: 'table', queries: [{ expr: `flink_taskmanager_job_task_isBackPressured{${jobSel}} == 1`, instant: true }] },
      ],
    },
  ],
};
