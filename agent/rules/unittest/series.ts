/**
 * The series notation shared by promtool unit tests and promqltest scripts: a series
 * description (`metric{label="value"}`, parsed with the PromQL parser) and the
 * expanding value notation: `1 2 3`, `a+bxn` / `a-bxn` (n+1 values), `axn`, `_` (no
 * sample), `_xn`, `stale` (a staleness marker).
 */
import { FlowpilotError } from '../../../common/errors.ts';
import { parseExpr } from '../../promql/index.ts';
import { parseNumberLiteral } from '../../promql/lexical.ts';
import { labelsFromRecord, type Labels } from '../../tsdb/index.ts';

/** A sample slot: a number, 'stale', or null (no sample). */
export type SeriesPoint = number | 'stale' | null;

function parseNumber(s: string): number {
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  // Numbers as PromQL's lexer reads them: `010` is octal 8 and `0x1f` hex, as promtool reads them.
  const n = /^[+-]?(0x[0-9a-f]+|0[0-7]+)$/i.test(s) ? parseNumberLiteral(s)! : Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Error(`invalid number ${JSON.stringify(s)}`);
  return n;
}

/** Expands a values string into sample slots. */
export function expandValues(values: string): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const tok of values.trim().split(/\s+/).filter((t) => t !== '')) {
    if (tok === '_') {
      out.push(null);
      continue;
    }
    if (tok === 'stale') {
      out.push('stale');
      continue;
    }
    let m = /^_x([0-9]+)$/.exec(tok);
    if (m) {
      for (let i = 0; i < Number(m[1]); i++) out.push(null);
      continue;
    }
    m = /^([+-]?[^+\-x]+|[+-]?[Ii]nf|[Nn]a[Nn])([+-][^x]+)?x([0-9]+)$/.exec(tok);
    if (m) {
      const start = parseNumber(m[1]);
      const step = m[2] === undefined ? 0 : parseNumber(m[2]);
      const n = Number(m[3]);
      for (let i = 0; i <= n; i++) out.push(start + step * i);
      continue;
    }
    try {
      out.push(parseNumber(tok));
    } catch {
      throw new FlowpilotError('FP_RULE_TEST_SERIES', `invalid value ${JSON.stringify(tok)} in series values ${JSON.stringify(values)}`);
    }
  }
  return out;
}

/** Parses `metric{a="b"}` into labels (equality matchers only). */
export function parseSeriesDescription(desc: string): Labels {
  let expr;
  try {
    expr = parseExpr(desc);
  } catch (err) {
    throw new FlowpilotError('FP_RULE_TEST_SERIES', `invalid series ${JSON.stringify(desc)}: ${(err as Error).message}`);
  }
  if (expr.kind !== 'vector_selector') throw new FlowpilotError('FP_RULE_TEST_SERIES', `invalid series ${JSON.stringify(desc)}: not a series selector`);
  const rec: Record<string, string> = {};
  for (const m of expr.matchers) {
    if (m.type !== '=') throw new FlowpilotError('FP_RULE_TEST_SERIES', `invalid series ${JSON.stringify(desc)}: only = matchers describe a series`);
    rec[m.name] = m.value;
  }
  return labelsFromRecord(rec);
}
