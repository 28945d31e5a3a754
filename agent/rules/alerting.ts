/**
 * An alerting rule and its alert instances, with Prometheus's state machine
 * (rules/alerting.go): new result series start pending at the evaluation time, move to
 * firing once `for` has elapsed, keep firing for `keep_firing_for` after the condition
 * clears, and are kept 15 m as resolved so the notifier can repeat the resolution.
 * Evaluation returns the ALERTS and ALERTS_FOR_STATE samples; it does no I/O.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { labelsFromRecord, labelsKey, type Labels } from '../tsdb/index.ts';
import type { RuleDef } from './rulefile.ts';
import { expandAlertTemplate, type TemplateContext } from './template/index.ts';
import { annotationsFromRecord, type Alert, type AlertState, type RuleQueryFunc, type RuleSample } from './types.ts';
import { RuleState } from './rule-state.ts';

/** How long resolved alerts are kept for re-sending (Prometheus's resolvedRetention). */
export const RESOLVED_RETENTION_MS = 15 * 60 * 1000;

export interface AlertEvalContext {
  query: RuleQueryFunc;
  externalLabels: Labels;
  externalURL: string;
}

export class AlertingRule extends RuleState {
  /** Alert instances by label-set key. */
  active = new Map<string, Alert>();

  /** Rule state: the highest state among its alerts. */
  state(): AlertState {
    let s: AlertState = 'inactive';
    for (const a of this.active.values()) {
      if (a.state === 'firing') return 'firing';
      if (a.state === 'pending') s = 'pending';
    }
    return s;
  }

  private async expandAll(templates: RuleDef['labelTemplates'], sample: RuleSample, ctx: AlertEvalContext, tctx: TemplateContext): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const labels: Record<string, string> = { ...sample.metric };
    for (const [k, t] of Object.entries(templates)) {
      out[k] = t.nodes === null
        ? t.text
        : await expandAlertTemplate(t, { labels, externalLabels: ctx.externalLabels, externalURL: ctx.externalURL, value: sample.value }, tctx);
    }
    return out;
  }

  /** Evaluates at tMs; returns ALERTS/ALERTS_FOR_STATE samples or throws (health is set by the caller). */
  async eval(tMs: number, ctx: AlertEvalContext, limit: number): Promise<RuleSample[]> {
    const res = await ctx.query(this.def.ast, tMs);
    const tctx: TemplateContext = {
      externalURL: ctx.externalURL,
      now: tMs / 1000,
      query: async (q) => (await ctx.query(q, tMs)).map((s) => ({ labels: { ...s.metric }, value: s.value })),
    };
    const fresh = new Map<string, Alert>();
    for (const s of res) {
      const rec: Record<string, string> = { ...s.metric };
      delete rec.__name__;
      Object.assign(rec, await this.expandAll(this.def.labelTemplates, s, ctx, tctx));
      rec.alertname = this.def.name;
      const labels = labelsFromRecord(rec);
      const key = labelsKey(labels);
      if (fresh.has(key)) {
        throw new FlowpilotError('FP_RULE_DUPLICATE_LABELSET', 'vector contains metrics with the same labelset after applying alert labels');
      }
      const annotations = annotationsFromRecord(await this.expandAll(this.def.annotationTemplates, s, ctx, tctx));
      fresh.set(key, {
        state: 'pending', labels, annotations, value: s.value, activeAt: tMs,
        firedAt: 0, resolvedAt: 0, lastSentAt: 0, validUntil: 0, keepFiringSince: 0,
      });
    }
    for (const [key, a] of fresh) {
      const old = this.active.get(key);
      if (old && old.state !== 'inactive') {
        old.value = a.value;
        old.annotations = a.annotations;
        continue;
      }
      this.active.set(key, a);
    }
    const out: RuleSample[] = [];
    let activeCount = 0;
    for (const [key, a] of this.active) {
      if (!fresh.has(key)) {
        let keepFiring = false;
        if (a.state === 'firing' && this.def.keepFiringForMs > 0) {
          if (a.keepFiringSince === 0) a.keepFiringSince = tMs;
          if (tMs - a.keepFiringSince < this.def.keepFiringForMs) keepFiring = true;
        }
        if (a.state === 'pending' || (a.resolvedAt !== 0 && tMs - a.resolvedAt > RESOLVED_RETENTION_MS)) this.active.delete(key);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = tMs;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = 0;
      }
      activeCount++;
      if (a.state === 'pending' && tMs - a.activeAt >= this.def.forMs) {
        a.state = 'firing';
        a.firedAt = tMs;
      }
      out.push({ metric: labelsFromRecord({ ...a.labels, __name__: 'ALERTS', alertstate: a.state }), value: 1 });
      out.push({ metric: labelsFromRecord({ ...a.labels, __name__: 'ALERTS_FOR_STATE' }), value: Math.floor(a.activeAt / 1000) });
    }
    if (limit > 0 && activeCount > limit) {
      this.active = new Map();
      throw new FlowpilotError('FP_RULE_LIMIT', `exceeded limit of ${limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /**
   * Alerts due for (re)sending at tMs (Prometheus's needsSending): never pending ones;
   * resolved ones right after resolution; others every resendDelay. Marks them sent and
   * sets validUntil = t + 4 × max(interval, resendDelay).
   */
  alertsToSend(tMs: number, resendDelayMs: number, intervalMs: number): Alert[] {
    const due: Alert[] = [];
    for (const a of this.active.values()) {
      if (a.state === 'pending') continue;
      const needs = a.resolvedAt > a.lastSentAt || a.lastSentAt + resendDelayMs < tMs;
      if (!needs) continue;
      a.lastSentAt = tMs;
      a.validUntil = tMs + 4 * Math.max(intervalMs, resendDelayMs);
      due.push({ ...a });
    }
    return due;
  }

  /** Firing and pending alerts (for the API), newest state. */
  activeAlerts(): Alert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }
}
