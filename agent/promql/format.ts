/**
 * Renders an AST back to PromQL text in Prometheus's canonical style (as its
 * `expr.String()` does): `sum by (job) (rate(x[5m]))`, `a / on (b) group_left (c) d`,
 * durations like `1h30m`. Parsing the output gives the same AST.
 */
import { formatMatcher } from '../tsdb/matchers.ts';
import type { AtModifier, Expr, VectorSelector } from './ast.ts';
import { formatPromDuration as formatDuration } from '../../common/duration.ts';

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatAt(at: AtModifier | null): string {
  if (at === null) return '';
  if (at.kind === 'start') return ' @ start()';
  if (at.kind === 'end') return ' @ end()';
  return ` @ ${(at.ms / 1000).toFixed(3)}`;
}

function formatOffset(ms: number): string {
  if (ms === 0) return '';
  return ms < 0 ? ` offset -${formatDuration(-ms)}` : ` offset ${formatDuration(ms)}`;
}

function formatSelector(e: VectorSelector): string {
  const ms = e.matchers.filter((m) => !(e.name !== null && m.name === '__name__' && m.type === '=' && m.value === e.name));
  const name = e.name ?? '';
  const body = ms.length === 0 && name !== '' ? '' : `{${ms.map(formatMatcher).join(', ')}}`;
  return name + body;
}

function grouping(labels: readonly string[]): string {
  return `(${labels.join(', ')})`;
}

export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'number': return formatNumber(e.value);
    case 'string': return JSON.stringify(e.value);
    case 'paren': return `(${formatExpr(e.expr)})`;
    case 'unary': return `${e.op}${formatExpr(e.expr)}`;
    case 'vector_selector': return formatSelector(e) + formatOffset(e.offsetMs) + formatAt(e.at);
    case 'matrix_selector':
      return `${formatSelector(e.vector)}[${formatDuration(e.rangeMs)}]${formatOffset(e.vector.offsetMs)}${formatAt(e.vector.at)}`;
    case 'subquery':
      return `${formatExpr(e.expr)}[${formatDuration(e.rangeMs)}:${e.stepMs > 0 ? formatDuration(e.stepMs) : ''}]${formatOffset(e.offsetMs)}${formatAt(e.at)}`;
    case 'call': return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
    case 'aggregate': {
      let mod = '';
      if (e.without) mod = ` without ${grouping(e.grouping)}`;
      else if (e.grouping.length > 0) mod = ` by ${grouping(e.grouping)}`;
      const args = e.param === null ? formatExpr(e.expr) : `${formatExpr(e.param)}, ${formatExpr(e.expr)}`;
      return mod === '' ? `${e.op}(${args})` : `${e.op}${mod} (${args})`;
    }
    case 'binary': {
      let mod = e.returnBool ? ' bool' : '';
      const m = e.matching;
      if (m !== null) {
        if (m.on || m.labels.length > 0) mod += ` ${m.on ? 'on' : 'ignoring'} ${grouping(m.labels)}`;
        if (m.card === 'many-to-one' || m.card === 'one-to-many') {
          mod += ` ${m.card === 'many-to-one' ? 'group_left' : 'group_right'}${m.include.length > 0 ? ' ' + grouping(m.include) : ''}`;
        }
      }
      return `${formatExpr(e.lhs)} ${e.op}${mod} ${formatExpr(e.rhs)}`;
    }
  }
}
