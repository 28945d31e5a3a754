/**
 * Builds the ConnectorContext a source reader or sink writer gets from the operator's setup.
 */
import type { ConnectorContext } from '../api/functions.ts';
import type { OperatorSetup } from './operator.ts';

export function connectorContext(setup: OperatorSetup): ConnectorContext {
  const t = setup.task;
  const r = setup.restored;
  return {
    subtaskIndex: t.subtaskIndex,
    parallelism: t.parallelism,
    attemptNumber: t.attemptNumber,
    config: t.config,
    metrics: t.metrics,
    now: () => t.time.now(),
    time: t.time,
    signal: t.signal,
    restored: r === null ? null : { operatorState: r.operatorState, unionState: r.unionState },
  };
}
