/**
 * The rule manager owns the rule groups: it loads rule files, runs each group on its
 * own aligned interval, hands due alerts to a notifier (never waiting on it), and
 * reloads on demand (`reload()`, SIGHUP, file changes). A reload that finds any
 * problem keeps the last good rule set, logs every problem as file:line:col and sets
 * `flowpilot_rules_last_reload_success` to 0; alert state of unchanged rules carries
 * over like Prometheus's CopyState.
 */
import { watch, type FSWatcher } from 'node:fs';
import { glob, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Counter, Gauge, Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../common/log.ts';
import { labelsFromRecord, type Labels } from '../tsdb/index.ts';
import { AlertingRule } from './alerting.ts';
import { RuleGroup } from './group.ts';
import { formatProblem, loadRuleFiles, type GroupDef, type RuleLoadLimits, type RuleProblem } from './rulefile.ts';
import { queryEscape } from './template/funcs.ts';
import type { Alert, NotifierAlert, RuleAppender, RuleQueryFunc } from './types.ts';

export interface AlertSink {
  /** Must return at once (queue and send in the background). */
  send(alerts: NotifierAlert[]): void;
}

export interface RuleManagerOptions {
  /** Rule files, directories (their *.yml / *.yaml) or glob patterns. */
  files: string[];
  query: RuleQueryFunc;
  appender: RuleAppender;
  evaluationIntervalMs?: number;
  resendDelayMs?: number;
  externalLabels?: Record<string, string>;
  externalURL?: string;
  notifier?: AlertSink;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
  /** Reload when a rule file changes (fs.watch, debounced). */
  watch?: boolean;
  watchDebounceMs?: number;
  /** Reload on SIGHUP. */
  handleSighup?: boolean;
  /** Size and alias limits of one reload (defaults: DEFAULT_RULE_LOAD_LIMITS). */
  limits?: Partial<RuleLoadLimits>;
}

export interface ReloadResult {
  ok: boolean;
  problems: RuleProblem[];
  groups: number;
  rules: number;
}

export const DEFAULT_EVALUATION_INTERVAL_MS = 60_000;
export const DEFAULT_RESEND_DELAY_MS = 60_000;

/** Prometheus's generator URL: externalURL + /graph?g0.expr=...&g0.tab=1. */
export function generatorURL(externalURL: string, expr: string): string {
  return `${externalURL.replace(/\/$/, '')}/graph?g0.expr=${queryEscape(expr)}&g0.tab=1`;
}

/** The notifier view of an alert, as Prometheus's SendAlerts builds it. */
export function toNotifierAlert(a: Alert, expr: string, externalURL: string): NotifierAlert {
  return {
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.firedAt,
    endsAt: a.resolvedAt !== 0 ? a.resolvedAt : a.validUntil,
    generatorURL: generatorURL(externalURL, expr),
  };
}

async function expandFiles(patterns: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) {
    if (/[*?[]/.test(p)) {
      for await (const f of glob(p)) out.add(resolve(f));
      continue;
    }
    const st = await stat(p).catch(() => null);
    if (st?.isDirectory()) {
      for await (const f of glob(join(p, '*.{yml,yaml}'))) out.add(resolve(f));
    } else out.add(resolve(p));
  }
  return [...out].sort();
}

function groupShape(g: GroupDef): unknown {
  return { name: g.name, intervalMs: g.intervalMs, limit: g.limit, rules: g.rules.map((r) => [r.kind, r.name, r.expr, r.forMs, r.keepFiringForMs, r.labels, r.annotations]) };
}

export class RuleManager {
  private readonly opts: RuleManagerOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  readonly registry: Registry;
  private groupsByKey = new Map<string, RuleGroup>();
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Set<string>();
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private started = false;
  private reloading: Promise<ReloadResult> | null = null;
  private readonly externalLabels: Labels;
  private readonly onSighup = (): void => {
    void this.reload();
  };
  private readonly metrics;

  constructor(opts: RuleManagerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.registry = opts.registry ?? new Registry();
    this.externalLabels = labelsFromRecord(opts.externalLabels ?? {});
    const registers = [this.registry];
    const groups = (): RuleGroup[] => [...this.groupsByKey.values()];
    this.metrics = {
      reloadSuccess: new Gauge({ name: 'flowpilot_rules_last_reload_success', help: 'Whether the last rule reload succeeded (1) or kept the previous rules (0).', registers }),
      reloadTime: new Gauge({ name: 'flowpilot_rules_last_reload_success_timestamp_seconds', help: 'Time of the last successful rule reload.', registers }),
      evalFailures: new Counter({ name: 'flowpilot_rule_evaluation_failures_total', help: 'Rule evaluations that failed.', labelNames: ['rule_group'], registers }),
      evals: new Counter({ name: 'flowpilot_rule_evaluations_total', help: 'Rule evaluations.', labelNames: ['rule_group'], registers }),
      missed: new Counter({ name: 'flowpilot_rule_group_iterations_missed_total', help: 'Group evaluations skipped because the previous one was still running or late.', labelNames: ['rule_group'], registers }),
    };
    new Gauge({
      name: 'flowpilot_rule_group_last_duration_seconds', help: 'Duration of the last evaluation of a rule group.', labelNames: ['rule_group'], registers,
      collect() {
        this.reset();
        for (const g of groups()) this.set({ rule_group: g.key }, g.evaluationDurationMs / 1000);
      },
    });
    new Gauge({
      name: 'flowpilot_rule_group_rules', help: 'Rules in a group.', labelNames: ['rule_group'], registers,
      collect() {
        this.reset();
        for (const g of groups()) this.set({ rule_group: g.key }, g.rules.length);
      },
    });
    new Gauge({
      name: 'flowpilot_rule_health', help: 'Rule health after its last evaluation (1 ok, 0 error).', labelNames: ['rule_group', 'rule'], registers,
      collect() {
        this.reset();
        for (const g of groups()) for (const r of g.rules) if (r.health !== 'unknown') this.set({ rule_group: g.key, rule: r.name }, r.health === 'ok' ? 1 : 0);
      },
    });
  }

  groups(): RuleGroup[] {
    return [...this.groupsByKey.values()];
  }

  /** Active (pending and firing) alerts of every alerting rule. */
  alerts(): Array<{ rule: AlertingRule; alert: Alert }> {
    const out: Array<{ rule: AlertingRule; alert: Alert }> = [];
    for (const g of this.groupsByKey.values()) {
      for (const r of g.rules) if (r instanceof AlertingRule) for (const a of r.activeAlerts()) out.push({ rule: r, alert: a });
    }
    return out;
  }

  /** Loads the rules and starts the group timers (and the watcher / SIGHUP handler). */
  async start(): Promise<ReloadResult> {
    this.started = true;
    const res = await this.reload();
    if (this.opts.watch) await this.startWatching();
    if (this.opts.handleSighup) process.on('SIGHUP', this.onSighup);
    return res;
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.debounce) clearTimeout(this.debounce);
    process.off('SIGHUP', this.onSighup);
    if (this.reloading) await this.reloading.catch(() => undefined);
  }

  /** Re-reads every rule file. Serialized: a reload during a reload waits for it and runs again. */
  async reload(): Promise<ReloadResult> {
    const prev = this.reloading;
    const next = (async () => {
      if (prev) await prev.catch(() => undefined);
      return this.doReload();
    })();
    this.reloading = next;
    return next;
  }

  private async doReload(): Promise<ReloadResult> {
    const paths = await expandFiles(this.opts.files);
    const { files, problems } = await loadRuleFiles(paths, this.opts.limits);
    if (problems.length > 0) {
      for (const p of problems) this.log.error({ code: p.code, file: p.file, line: p.line, column: p.column }, `rule reload failed, keeping the previous rules: ${formatProblem(p)}`);
      this.metrics.reloadSuccess.set(0);
      return { ok: false, problems, groups: this.groupsByKey.size, rules: this.countRules() };
    }
    const interval = this.opts.evaluationIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS;
    const next = new Map<string, RuleGroup>();
    for (const f of files) {
      for (const def of f.groups) {
        const g = new RuleGroup(def, interval);
        const old = this.groupsByKey.get(g.key);
        if (old && old.intervalMs === g.intervalMs && isDeepStrictEqual(groupShape(old.def), groupShape(def))) {
          next.set(g.key, old); // unchanged: keep the running group as it is
          continue;
        }
        if (old) g.copyState(old);
        next.set(g.key, g);
      }
    }
    const nowMs = this.now();
    for (const [key, old] of this.groupsByKey) {
      if (next.get(key) === old) continue;
      this.stopGroup(key);
      if (!next.has(key)) old.markStale(nowMs, this.opts.appender);
    }
    this.groupsByKey = next;
    if (this.started) for (const [key, g] of next) if (!this.timers.has(key)) this.scheduleGroup(g);
    this.metrics.reloadSuccess.set(1);
    this.metrics.reloadTime.set(nowMs / 1000);
    const rules = this.countRules();
    this.log.info({ groups: next.size, rules, files: paths.length }, 'rules loaded');
    return { ok: true, problems: [], groups: next.size, rules };
  }

  private countRules(): number {
    let n = 0;
    for (const g of this.groupsByKey.values()) n += g.rules.length;
    return n;
  }

  private stopGroup(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private scheduleGroup(g: RuleGroup): void {
    let next = g.evalTimestamp(this.now()) + g.intervalMs;
    const tick = (): void => {
      if (this.groupsByKey.get(g.key) !== g) return;
      const nowMs = this.now();
      const missed = Math.floor((nowMs - next) / g.intervalMs);
      if (missed > 0) {
        g.iterationsMissed += missed;
        this.metrics.missed.inc({ rule_group: g.key }, missed);
        next += missed * g.intervalMs;
      }
      const ts = next;
      next += g.intervalMs;
      if (this.running.has(g.key)) {
        g.iterationsMissed++;
        this.metrics.missed.inc({ rule_group: g.key });
      } else {
        this.running.add(g.key);
        this.evaluateGroup(g, ts)
          .catch((err: unknown) => this.log.error({ err, group: g.key }, 'rule group evaluation failed'))
          .finally(() => this.running.delete(g.key));
      }
      this.arm(g, next, tick);
    };
    this.arm(g, next, tick);
  }

  private arm(g: RuleGroup, at: number, tick: () => void): void {
    const t = setTimeout(tick, Math.max(0, at - this.now()));
    t.unref();
    this.timers.set(g.key, t);
  }

  /** Evaluates one group at tMs (used by the scheduler, the bench and tests). */
  async evaluateGroup(g: RuleGroup, tMs: number): Promise<void> {
    const externalURL = this.opts.externalURL ?? '';
    await g.eval(tMs, {
      query: this.opts.query,
      appender: this.opts.appender,
      externalLabels: this.externalLabels,
      externalURL,
      resendDelayMs: this.opts.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS,
      notify: this.opts.notifier
        ? (expr, alerts) => this.opts.notifier!.send(alerts.map((a) => toNotifierAlert(a, expr, externalURL)))
        : undefined,
    });
    this.metrics.evals.inc({ rule_group: g.key }, g.rules.length);
    const failed = g.rules.filter((r) => r.health === 'err').length;
    if (failed > 0) this.metrics.evalFailures.inc({ rule_group: g.key }, failed);
  }

  /** Evaluates every group once at tMs, in load order. */
  async evaluateAll(tMs: number): Promise<void> {
    for (const g of this.groupsByKey.values()) await this.evaluateGroup(g, tMs);
  }

  private async startWatching(): Promise<void> {
    const paths = await expandFiles(this.opts.files);
    const dirs = new Set<string>(paths.map((p) => dirname(p)));
    for (const f of this.opts.files) {
      const st = await stat(f).catch(() => null);
      if (st?.isDirectory()) dirs.add(resolve(f));
    }
    const names = new Set(paths.map((p) => basename(p)));
    const delay = this.opts.watchDebounceMs ?? 250;
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          // Kubernetes ConfigMaps swap a ..data symlink; react to that and to our own files.
          if (file !== null && !names.has(file) && !file.startsWith('..') && !/\.ya?ml$/.test(file)) return;
          if (this.debounce) clearTimeout(this.debounce);
          this.debounce = setTimeout(() => {
            this.debounce = null;
            void this.reload();
          }, delay);
          this.debounce.unref();
        });
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ err, dir }, 'cannot watch rule directory; reload with SIGHUP (or POST /-/reload with --web.enable-lifecycle)');
      }
    }
  }
}
