/**
 * Turns one execution attempt of a job graph into TaskDeployments, grouped by TaskManager:
 * each subtask's inputs and outputs (with the consumers' data addresses) and, when the attempt
 * restores, its restore plan from engine/checkpoint/restore.ts. Pure: no RPC, no job state.
 */
import type { JobGraph } from '../contracts/job-graph.ts';
import type { RestoreAssignment } from '../checkpoint/restore.ts';
import { attemptId, type TaskDeployment, type TaskLocation } from '../runtime/deployment.ts';

export interface AttemptSubtask {
  attempt: number;
  taskManagerId: string | null;
}

/** TaskManager id → the TaskDeployments it runs. `locations` holds every subtask's TaskManager and data address. */
export function planDeployments(
  graph: JobGraph,
  executionId: string,
  subtasks: ReadonlyMap<string, readonly AttemptSubtask[]>,
  locations: ReadonlyMap<string, TaskLocation[]>,
  assignment: RestoreAssignment | null,
): Map<string, TaskDeployment[]> {
  const byId = new Map(graph.vertices.map((v) => [v.id, v]));
  const perTm = new Map<string, TaskDeployment[]>();
  for (const v of graph.vertices) {
    const consumersOf = graph.vertices.flatMap((u) => u.inputs.filter((e) => e.sourceVertexId === v.id).map((e) => ({ u, e })));
    for (let i = 0; i < v.parallelism; i++) {
      const rec = subtasks.get(v.id)![i]!;
      const task: TaskDeployment = {
        vertexId: v.id,
        taskName: v.name,
        subtaskIndex: i,
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        attemptNumber: rec.attempt,
        attemptId: attemptId(executionId, v.id, i, rec.attempt),
        isSource: v.isSource || v.inputs.length === 0,
        headOperator: { id: v.operators[0]?.id ?? v.id, name: v.operators[0]?.name ?? v.name },
        inputs: v.inputs.map((e) => ({
          inputIndex: e.inputIndex,
          sourceVertexId: e.sourceVertexId,
          ship: e.ship,
          producerParallelism: byId.get(e.sourceVertexId)!.parallelism,
        })),
        outputs: consumersOf.map(({ u, e }) => ({
          targetVertexId: u.id,
          inputIndex: e.inputIndex,
          ship: e.ship,
          consumerParallelism: u.parallelism,
          consumerMaxParallelism: u.maxParallelism,
          consumers: locations.get(u.id)!,
        })),
      };
      const plan = assignment?.subtasks[v.id]?.[i];
      if (plan) task.restore = plan;
      const tmId = rec.taskManagerId!;
      const list = perTm.get(tmId) ?? [];
      list.push(task);
      perTm.set(tmId, list);
    }
  }
  return perTm;
}
