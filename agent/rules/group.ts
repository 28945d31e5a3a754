/**
 * A rule group: its rules run in file order at one timestamp (later rules see earlier
 * recordings), outputs are appended to storage, series a rule stopped producing get a
 * stale marker, and alerts due for sending are collected for the notifier. Timing is
 * Prometheus's: each group has a fixed phase inside its interval derived from the
 * xxHash64 of its file and name, the same phase Prometheus picks for the same path.
 * No timers here; the manager drives `eval`.
 */
import { errorMessage } from '../../common/errors.ts';
import type { Labels } from '../tsdb/index.ts';
import { labelsKey } from '../tsdb/index.ts';
import { AlertingRule } from './alerting.ts';
import { RecordingRule } from './recording.ts';
import type { GroupDef } from './rulefile.ts';
import type { Alert, RuleAppender, RuleQueryFunc } from './types.ts';
import { xxhash64 } from './xxhash.ts';

export type Rule = AlertingRule | RecordingRule;

export interface GroupEvalContext {
  query: RuleQueryFunc;
  appender: RuleAppender;
  externalLabels: Labels;
  externalURL: string;
  resendDelayMs: number;
  /** Called with the alerts of one rule that are due for sending (never awaited). */
  notify?: (expr: string, alerts: Alert[]) => void;
}

/** Prometheus's group hash: labels {file, name} hashed as `file\xff<file>\xffname\xff<name>\xff` with xxHash64. */
export function groupHash(file: string, name: string): bigint {
  const sep = Buffer.from([0xff]);
  return xxhash64(Buffer.concat([Buffer.from('file'), sep, Buffer.from(file), sep, Buffer.from('name'), sep, Buffer.from(name), sep]));
}

export class RuleGroup {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  readonly limit: number;
  readonly rules: Rule[];
  readonly def: GroupDef;
  lastEvaluation = 0;
  evaluationDurationMs = 0;
  iterationsMissed = 0;
  iterations = 0;
  /** Per rule: label-set key -> labels of the series written at the previous evaluation. */
  private seriesInPreviousEval: Array<Map<string, Labels>>;
  /** Series of rules removed by a reload, to be marked stale at the next evaluation. */
  private staleSeries: Labels[] = [];

  constructor(def: GroupDef, defaultIntervalMs: number) {
    this.def = def;
    this.name = def.name;
    this.file = def.file;
    this.intervalMs = def.intervalMs ?? defaultIntervalMs;
    this.limit = def.limit;
    this.rules = def.rules.map((r) => (r.kind === 'alert' ? new AlertingRule(r) : new RecordingRule(r)));
    this.seriesInPreviousEval = this.rules.map(() => new Map());
  }

  get key(): string {
    return `${this.file};${this.name}`;
  }

  /** The aligned evaluation time at or before nowMs (Prometheus's EvalTimestamp). */
  evalTimestamp(nowMs: number): number {
    // Prometheus works in nanoseconds and truncates the evaluation time to milliseconds.
    const offset = Number((groupHash(this.file, this.name) % (BigInt(this.intervalMs) * 1_000_000n)) / 1_000_000n);
    const adj = nowMs - offset;
    return adj - (((adj % this.intervalMs) + this.intervalMs) % this.intervalMs) + offset;
  }

  /** Evaluates every rule at tMs. Rule failures set the rule's health and never stop the group. */
  async eval(tMs: number, ctx: GroupEvalContext): Promise<void> {
    const started = performance.now();
    for (const s of this.staleSeries) ctx.appender.appendStaleMarker(s, tMs);
    this.staleSeries = [];
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      const t0 = performance.now();
      let samples;
      try {
        samples = rule instanceof AlertingRule
          ? await rule.eval(tMs, { query: ctx.query, externalLabels: ctx.externalLabels, externalURL: ctx.externalURL }, this.limit)
          : await rule.eval(tMs, ctx.query, this.limit);
        rule.health = 'ok';
        rule.lastError = null;
      } catch (err) {
        rule.health = 'err';
        rule.lastError = errorMessage(err);
        rule.lastEvaluation = tMs;
        rule.evaluationDurationMs = performance.now() - t0;
        continue;
      }
      if (rule instanceof AlertingRule && ctx.notify) {
        const due = rule.alertsToSend(tMs, ctx.resendDelayMs, this.intervalMs);
        if (due.length > 0) ctx.notify(rule.def.expr, due);
      }
      const returned = new Map<string, Labels>();
      for (const s of samples) {
        ctx.appender.append(s.metric, tMs, s.value);
        returned.set(labelsKey(s.metric), s.metric);
      }
      for (const [key, lset] of this.seriesInPreviousEval[i]) {
        if (!returned.has(key)) ctx.appender.appendStaleMarker(lset, tMs);
      }
      this.seriesInPreviousEval[i] = returned;
      rule.lastEvaluation = tMs;
      rule.evaluationDurationMs = performance.now() - t0;
    }
    this.lastEvaluation = tMs;
    this.evaluationDurationMs = performance.now() - started;
    this.iterations++;
  }

  /** Carries state over from the group this one replaces on reload (Prometheus's CopyState). */
  copyState(from: RuleGroup): void {
    this.lastEvaluation = from.lastEvaluation;
    this.evaluationDurationMs = from.evaluationDurationMs;
    const byIdentity = new Map<string, number[]>();
    from.rules.forEach((r, i) => {
      const id = ruleIdentity(r);
      byIdentity.set(id, [...(byIdentity.get(id) ?? []), i]);
    });
    this.rules.forEach((r, i) => {
      const id = ruleIdentity(r);
      const idx = byIdentity.get(id) ?? [];
      if (idx.length === 0) return;
      const fi = idx[0];
      byIdentity.set(id, idx.slice(1));
      this.seriesInPreviousEval[i] = from.seriesInPreviousEval[fi];
      const old = from.rules[fi];
      if (r instanceof AlertingRule && old instanceof AlertingRule) {
        for (const [k, a] of old.active) r.active.set(k, a);
        r.health = old.health;
        r.lastError = old.lastError;
      }
    });
    this.staleSeries = [...from.staleSeries];
    for (const idx of byIdentity.values()) {
      for (const fi of idx) this.staleSeries.push(...from.seriesInPreviousEval[fi].values());
    }
  }

  /** Marks everything this group wrote as stale (the group is being removed). */
  markStale(tMs: number, appender: RuleAppender): void {
    for (const m of this.seriesInPreviousEval) for (const l of m.values()) appender.appendStaleMarker(l, tMs);
    for (const l of this.staleSeries) appender.appendStaleMarker(l, tMs);
  }
}

function ruleIdentity(r: Rule): string {
  const labels = Object.keys(r.def.labels).sort().map((k) => `${k}=${JSON.stringify(r.def.labels[k])}`).join(',');
  return `${r.def.kind}:${r.name}{${labels}}`;
}
