/**
 * The control-plane messages of checkpointing between the JobManager and TaskManagers, as
 * plain data (msgpack carries them as they are). engine/rpc/messages.ts adds them to its union;
 * they live here so both sides and the coordinator agree on one definition. All carry the
 * execution id: a message of an older execution attempt is ignored.
 */
import type { CheckpointTrigger } from './coordinator.ts';
import type { SubtaskStateHandle } from './metadata.ts';

/** JM → TM: start checkpoint `trigger.checkpointId` at this TM's source subtasks of the execution. */
export interface TriggerCheckpointMessage {
  t: 'triggerCheckpoint';
  executionId: string;
  trigger: CheckpointTrigger;
}

/** TM → JM: a subtask wrote its state for the checkpoint. */
export interface AcknowledgeCheckpointMessage {
  t: 'acknowledgeCheckpoint';
  executionId: string;
  checkpointId: number;
  vertexId: string;
  subtaskIndex: number;
  handle: SubtaskStateHandle;
  alignmentDurationNs: number;
  processedData: number;
}

/** TM → JM: a subtask could not take part in the checkpoint. */
export interface DeclineCheckpointMessage {
  t: 'declineCheckpoint';
  executionId: string;
  checkpointId: number;
  vertexId: string;
  subtaskIndex: number;
  reason: string;
}

/** JM → TM: the checkpoint completed everywhere; every subtask's notifyCheckpointComplete (sinks commit). */
export interface NotifyCheckpointCompleteMessage {
  t: 'notifyCheckpointComplete';
  executionId: string;
  checkpointId: number;
}

/** JM → TM: the checkpoint failed; drop its alignment (BarrierAligner.abortCheckpoint) and resume a stopped source. */
export interface AbortCheckpointMessage {
  t: 'abortCheckpoint';
  executionId: string;
  checkpointId: number;
}

export type CheckpointMessage =
  | TriggerCheckpointMessage
  | AcknowledgeCheckpointMessage
  | DeclineCheckpointMessage
  | NotifyCheckpointCompleteMessage
  | AbortCheckpointMessage;
