/** The queries both sides of the retention benchmark run over the full 2 h range (instant at the end, or range with a 60 s step). */
export const QUERIES: ReadonlyArray<{ expr: string; range: boolean }> = [
  { expr: 'sum by (task_name) (rate(flink_taskmanager_job_task_numRecordsIn[2h]))', range: false },
  { expr: 'max_over_time(flink_taskmanager_job_task_busyTimeMsPerSecond[2h])', range: false },
  { expr: 'sum by (task_name) (rate(flink_taskmanager_job_task_numRecordsIn[1m]))', range: true },
  { expr: 'avg by (task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond)', range: true },
];

export const RANGE_STEP_MS = 60_000;

export function queryLabel(q: { expr: string; range: boolean }): string {
  return q.range ? `range 2 h, step 60 s: ${q.expr}` : `instant: ${q.expr}`;
}
