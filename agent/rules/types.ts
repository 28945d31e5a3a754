/**
 * The narrow contracts the rule engine needs from its surroundings: a query function
 * (an instant PromQL query at a time), a place to append samples, and the alert shape
 * handed to the notifier. Keeping them here lets rules/ be tested against the real
 * engine and storage without depending on their full surface.
 */
import type { Labels } from '../tsdb/index.ts';
import type { Expr, PromQLEngine, QueryOptions } from '../promql/index.ts';
import { FlowpilotError } from '../../common/errors.ts';

export interface RuleSample {
  metric: Labels;
  value: number;
}

/** An instant query at tMs that must yield a vector (a scalar becomes one unlabelled sample). */
export type RuleQueryFunc = (q: Expr | string, tMs: number) => Promise<RuleSample[]>;

export interface RuleAppender {
  append(labels: Labels | Record<string, string>, tMs: number, value: number): unknown;
  appendStaleMarker(labels: Labels | Record<string, string>, tMs: number): unknown;
}

export type AlertState = 'inactive' | 'pending' | 'firing';
export type RuleHealth = 'unknown' | 'ok' | 'err';

/** One alert instance of an alerting rule (Prometheus's rules.Alert). Times are ms; 0 = unset. */
export interface Alert {
  state: AlertState;
  labels: Labels;
  annotations: Labels;
  value: number;
  activeAt: number;
  firedAt: number;
  resolvedAt: number;
  lastSentAt: number;
  validUntil: number;
  keepFiringSince: number;
}

/** What the notifier receives, as Prometheus's notifier.Alert. Times are ms since the epoch. */
export interface NotifierAlert {
  labels: Labels;
  annotations: Labels;
  startsAt: number;
  endsAt: number;
  generatorURL: string;
}

/** Annotations: sorted and frozen like Labels, but empty values are kept (Prometheus sends them). */
export function annotationsFromRecord(rec: Record<string, string>): Labels {
  const out: Record<string, string> = {};
  for (const k of Object.keys(rec).sort()) out[k] = rec[k];
  return Object.freeze(out);
}

/**
 * Wraps the PromQL engine as Prometheus's EngineQueryFunc does. `limits` bound each rule's
 * query (the agent evaluates rules on its main thread): past them the rule fails with a
 * typed query error, which the group records as the rule's health.
 */
export function engineQueryFunc(engine: PromQLEngine, limits: QueryOptions = {}): RuleQueryFunc {
  return async (q, tMs) => {
    const res = engine.instantQuerySync(q, tMs, limits);
    const d = res.data;
    if (d.resultType === 'vector') return d.result.map((s) => ({ metric: s.metric, value: s.value }));
    if (d.resultType === 'scalar') return [{ metric: Object.freeze({}), value: d.result.value }];
    throw new FlowpilotError('FP_RULE_RESULT_TYPE', 'rule result is not a vector or scalar');
  };
}
