/**
 * What every rule, alerting or recording, keeps between evaluations: its definition and the
 * health, last error, time and duration of its last evaluation (served by /api/v1/rules).
 */
import type { RuleDef } from './rulefile.ts';
import type { RuleHealth } from './types.ts';

export class RuleState {
  readonly def: RuleDef;
  health: RuleHealth = 'unknown';
  lastError: string | null = null;
  lastEvaluation = 0;
  evaluationDurationMs = 0;

  constructor(def: RuleDef) {
    this.def = def;
  }

  get name(): string {
    return this.def.name;
  }
}
