/** TaskManagers: heap, GC and slots. */
import type { DashboardSpec } from './layout.ts';

const ns = 'namespace=~"$namespace"';

export const taskmanagers: DashboardSpec = {
  uid: 'flowpilot-taskmanagers',
  title: 'flowpilot / TaskManagers',
  description: 'Heap, garbage collection and slots of the TaskManagers.',
  rows: [
    {
      title: 'Slots',
      panels: [
        { title: 'Registered TaskManagers', kind: 'stat', queries: [{ expr: `sum(flink_jobmanager_numRegisteredTaskManagers{${ns}})`, instant: true }] },
        { title: 'Slots total', kind: 'stat', queries: [{ expr: `sum(flink_jobmanager_taskSlotsTotal{${ns}})`, instant: true }] },
        { title: 'Slots available', kind: 'stat', queries: [{ expr: `sum(flink_jobmanager_taskSlotsAvailable{${ns}})`, instant: true }] },
        { title: 'Slots over time', kind: 'timeseries', width: 6, queries: [
          { expr: `sum(flink_jobmanager_taskSlotsTotal{${ns}})`, legend: 'total' },
          { expr: `sum(flink_jobmanager_taskSlotsAvailable{${ns}})`, legend: 'available' },
        ] },
      ],
    },
    {
      title: 'Memory and GC',
      panels: [
        { title: 'Heap used / max by TaskManager', kind: 'timeseries', unit: 'percentunit', min: 0, max: 1, queries: [{ expr: `flink_taskmanager_Status_JVM_Memory_Heap_Used{${ns}} / flink_taskmanager_Status_JVM_Memory_Heap_Max{${ns}}`, legend: '{{tm_id}}' }] },
        { title: 'Heap used by TaskManager', kind: 'timeseries', unit: 'bytes', min: 0, queries: [{ expr: `flink_taskmanager_Status_JVM_Memory_Heap_Used{${ns}}`, legend: '{{tm_id}}' }] },
        { title: 'GC time (ms per second)', kind: 'timeseries', unit: 'ms', min: 0, queries: [{ expr: `rate(flink_taskmanager_Status_JVM_GarbageCollector_All_Time{${ns}}[$__rate_interval]) `, legend: '{{tm_id}}' }] },
        { title: 'GC runs per second', kind: 'timeseries', min: 0, queries: [{ expr: `rate(flink_taskmanager_Status_JVM_GarbageCollector_All_Count{${ns}}[$__rate_interval])`, legend: '{{tm_id}}' }] },
      ],
    },
  ],
};
