/**
 * The series notation of promqltest and promtool: `metric{a="b"} 1 2+3x4 _ stale Inf`.
 * `a+bxn` expands to n+1 values a, a+b, ..., a+n*b; `axn` repeats a n+1 times; `_xn` is
 * n missing points. Lines holding native-histogram literals (`{{...}}`) are reported as
 * such and never parsed further.
 */
import { labelsFromRecord, type Labels } from '../../tsdb/labels.ts';
import { parseExpr } from '../parser.ts';
import { parseNumberLiteral } from '../lexical.ts';

/** One point of an expanded series: a number, a stale marker, or nothing. */
export type Point = { kind: 'value'; v: number } | { kind: 'stale' } | { kind: 'none' };

export interface SeriesLine {
  labels: Labels;
  points: Point[];
  histogram: boolean;
}

/** Splits `metric{...} values` at the end of the label block (label values may hold spaces). */
export function splitSeriesLine(line: string): [string, string] {
  let i = 0;
  let inQuote: string | null = null;
  let sawBrace = false;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote !== null) {
      if (c === '\\') i++;
      else if (c === inQuote) inQuote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') inQuote = c;
    else if (c === '{') sawBrace = true;
    else if (c === '}' && sawBrace) { i++; break; }
    else if (/\s/.test(c) && !sawBrace) break;
  }
  return [line.slice(0, i).trim(), line.slice(i).trim()];
}

export function parseLabels(spec: string): Labels {
  if (/^\{\s*\}$/.test(spec)) return labelsFromRecord({});
  const e = parseExpr(spec);
  if (e.kind !== 'vector_selector') throw new Error(`not a series: ${spec}`);
  const rec: Record<string, string> = {};
  for (const m of e.matchers) rec[m.name] = m.value;
  return labelsFromRecord(rec);
}

const UNSIGNED = '(?:inf|nan|(?:\\d+\\.?\\d*|\\.\\d+)(?:e[+-]?\\d+)?)';
const TOKEN = new RegExp(`^(_|stale|[+-]?${UNSIGNED})(?:([+-])(${UNSIGNED}))?(?:x(\\d+))?$`, 'i');

export function parsePoints(text: string): Point[] {
  const out: Point[] = [];
  for (const tok of text.split(/\s+/).filter((t) => t !== '')) {
    const m = TOKEN.exec(tok);
    if (m === null) throw new Error(`bad value ${JSON.stringify(tok)}`);
    const [, base, sign, stepText, times] = m;
    const n = times === undefined ? 0 : Number(times);
    if (base === '_') {
      for (let i = 0; i < Math.max(1, n); i++) out.push({ kind: 'none' });
      continue;
    }
    if (base!.toLowerCase() === 'stale') {
      for (let i = 0; i <= n; i++) out.push({ kind: 'stale' });
      continue;
    }
    const start = parseNumberLiteral(base!)!;
    const step = stepText === undefined ? 0 : (sign === '-' ? -1 : 1) * parseNumberLiteral(stepText)!;
    if (times === undefined) {
      out.push({ kind: 'value', v: start });
      continue;
    }
    let cur = start;
    for (let i = 0; i <= n; i++) {
      out.push({ kind: 'value', v: cur });
      cur += step;
    }
  }
  return out;
}

export function parseSeriesLine(line: string): SeriesLine {
  const [spec, values] = splitSeriesLine(line);
  const labels = parseLabels(spec);
  if (values.includes('{{')) return { labels, points: [], histogram: true };
  return { labels, points: parsePoints(values), histogram: false };
}
