/**
 * A recording rule: runs its expression and renames every result series to the record
 * name with the rule's labels applied (an empty label value removes the label), as
 * Prometheus's rules/recording.go. Refuses results that collide after relabelling.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { labelsFromRecord, labelsKey } from '../tsdb/index.ts';
import type { RuleQueryFunc, RuleSample } from './types.ts';
import { RuleState } from './rule-state.ts';

export class RecordingRule extends RuleState {

  async eval(tMs: number, query: RuleQueryFunc, limit: number): Promise<RuleSample[]> {
    const res = await query(this.def.ast, tMs);
    const seen = new Set<string>();
    const out: RuleSample[] = [];
    for (const s of res) {
      const metric = labelsFromRecord({ ...s.metric, __name__: this.def.name, ...this.def.labels });
      const key = labelsKey(metric);
      if (seen.has(key)) {
        throw new FlowpilotError('FP_RULE_DUPLICATE_LABELSET', 'vector contains metrics with the same labelset after applying rule labels');
      }
      seen.add(key);
      out.push({ metric, value: s.value });
    }
    if (limit > 0 && out.length > limit) throw new FlowpilotError('FP_RULE_LIMIT', `exceeded limit of ${limit} with ${out.length} series`);
    return out;
  }
}
