/**
 * Public surface of the rule engine. Other stages import from here only.
 *
 * - loadRuleFiles / parseRuleFile: Prometheus rule files -> GroupDef[] + problems (file:line:col).
 * - RuleManager: owns the groups, runs them on their intervals, reload() / SIGHUP / file watch,
 *   feeds an AlertSink (agent/notify's Notifier), serves groups() and alerts() to the API.
 * - RuleGroup, AlertingRule, RecordingRule: one evaluation step each, no I/O.
 * - engineQueryFunc(engine): the PromQL engine as a rule query function.
 * - runUnitTests / runUnitTestFile: promtool's rule unit-test format.
 * - compileTemplate / expandAlertTemplate: Prometheus's Go-template dialect.
 * - rulesApiData / alertsApiData: the `data` of Prometheus's /api/v1/rules and /api/v1/alerts.
 */
export { AlertingRule, RESOLVED_RETENTION_MS } from './alerting.ts';
export { RecordingRule } from './recording.ts';
export { RuleGroup, groupHash, type Rule, type GroupEvalContext } from './group.ts';
export {
  DEFAULT_EVALUATION_INTERVAL_MS,
  DEFAULT_RESEND_DELAY_MS,
  RuleManager,
  generatorURL,
  toNotifierAlert,
  type AlertSink,
  type ReloadResult,
  type RuleManagerOptions,
} from './manager.ts';
export { assertNoProblems, DEFAULT_RULE_LOAD_LIMITS, formatProblem, loadRuleFiles, parseRuleFile, type GroupDef, type RuleDef, type RuleFile, type RuleLoadLimits, type RuleProblem } from './rulefile.ts';
export { engineQueryFunc, type Alert, type AlertState, type NotifierAlert, type RuleAppender, type RuleHealth, type RuleQueryFunc, type RuleSample } from './types.ts';
export { compileTemplate, expandAlertTemplate, type CompiledTemplate } from './template/index.ts';
export { runUnitTestFile, runUnitTests, type UnitTestResult } from './unittest/runner.ts';
export { alertsApiData, goTimeJSON, rulesApiData, type ApiAlert, type RulesFilter } from './api.ts';
