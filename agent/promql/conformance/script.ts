/**
 * Reads a promqltest script into commands: `load <step>` blocks, `clear`, and
 * `eval instant at <t> <expr>` / `eval range from <s> to <e> step <d> <expr>` with their
 * `expect ...` lines and expected series. Lines are trimmed and comment lines end a
 * block, as in Prometheus's harness. Deprecated forms (eval_fail, eval_ordered,
 * eval_warn, eval_info, expected_fail_message/regexp) are mapped onto `expect` lines.
 */
import { errorMessage } from '../../../common/errors.ts';
import { decodeDurationLiteral } from '../lexical.ts';

export interface LoadCommand { kind: 'load'; line: number; stepMs: number; series: string[]; nhcb: boolean }
export interface ClearCommand { kind: 'clear'; line: number }
/** A command this reader does not know: the runner skips what depends on it, with the reason. */
export interface UnsupportedCommand { kind: 'unsupported'; line: number; reason: string }

export interface Expectation {
  type: 'fail' | 'warn' | 'info' | 'no_warn' | 'no_info' | 'ordered';
  match: 'any' | 'msg' | 'regex';
  text: string;
}

export interface EvalCommand {
  kind: 'eval';
  line: number;
  query: string;
  instant: boolean;
  atMs: number;
  startMs: number;
  endMs: number;
  stepMs: number;
  expects: Expectation[];
  expectString: string | null;
  rangeVector: { startMs: number; endMs: number; stepMs: number } | null;
  /** Expected series lines (or a bare number for a scalar). */
  results: string[];
}

export type Command = LoadCommand | ClearCommand | EvalCommand | UnsupportedCommand;

function duration(text: string, line: number): number {
  const neg = text.startsWith('-');
  try {
    const ms = decodeDurationLiteral(neg ? text.slice(1) : text);
    return neg ? -ms : ms;
  } catch (err) {
    throw new Error(`line ${line}: bad duration ${JSON.stringify(text)}: ${errorMessage(err)}`, { cause: err });
  }
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === '`') && t[t.length - 1] === t[0]) return t.slice(1, -1);
  return t;
}

function parseExpect(body: string): Expectation | { string: string } | { rangeVector: [string, string, string] } {
  const m = /^(fail|warn|info|no_warn|no_info|ordered|string|range vector)\b\s*(.*)$/.exec(body);
  if (m === null) throw new Error(`bad expect line: ${body}`);
  const [, type, rest] = m as unknown as [string, string, string];
  if (type === 'string') return { string: unquote(rest) };
  if (type === 'range vector') {
    const r = /^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$/.exec(rest.trim());
    if (r === null) throw new Error(`bad expect range vector line: ${body}`);
    return { rangeVector: [r[1]!, r[2]!, r[3]!] };
  }
  const mm = /^(msg|regex):\s?(.*)$/.exec(rest.trim());
  return { type: type as Expectation['type'], match: mm === null ? 'any' : (mm[1] as 'msg' | 'regex'), text: mm === null ? '' : mm[2]!.trim() };
}

export function parseScript(text: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const out: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/\s+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      out.push({ kind: 'clear', line: i + 1 });
      continue;
    }
    if (word === 'load' || word === 'load_with_nhcb') {
      const parts = l.split(/\s+/);
      const cmd: LoadCommand = { kind: 'load', line: i + 1, stepMs: duration(parts[1] ?? '', i + 1), series: [], nhcb: word === 'load_with_nhcb' };
      while (i + 1 < lines.length && lines[i + 1] !== '') cmd.series.push(lines[++i]!);
      out.push(cmd);
      continue;
    }
    if (word.startsWith('eval')) {
      out.push(parseEval(lines, i));
      while (i + 1 < lines.length && lines[i + 1] !== '') i++;
      continue;
    }
    out.push({ kind: 'unsupported', line: i + 1, reason: `unknown command ${JSON.stringify(l)}` });
    while (i + 1 < lines.length && lines[i + 1] !== '') i++;
  }
  return out;
}

function parseEval(lines: string[], i: number): EvalCommand {
  const l = lines[i]!;
  const inst = /^eval(?:_(fail|warn|info|ordered))?\s+instant\s+at\s+(\S+)\s+(.+)$/.exec(l);
  const rng = /^eval(?:_(fail|warn|info|ordered))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$/.exec(l);
  if (inst === null && rng === null) throw new Error(`line ${i + 1}: bad eval command ${JSON.stringify(l)}`);
  const cmd: EvalCommand = {
    kind: 'eval', line: i + 1, query: '', instant: inst !== null, atMs: 0, startMs: 0, endMs: 0, stepMs: 0,
    expects: [], expectString: null, rangeVector: null, results: [],
  };
  let legacy: string | undefined;
  if (inst !== null) {
    legacy = inst[1];
    cmd.atMs = duration(inst[2]!, i + 1);
    cmd.query = inst[3]!;
  } else {
    legacy = rng![1];
    cmd.startMs = duration(rng![2]!, i + 1);
    cmd.endMs = duration(rng![3]!, i + 1);
    cmd.stepMs = duration(rng![4]!, i + 1);
    cmd.query = rng![5]!;
  }
  if (legacy !== undefined) cmd.expects.push({ type: legacy as Expectation['type'], match: 'any', text: '' });
  for (let j = i + 1; j < lines.length && lines[j] !== ''; j++) {
    const d = lines[j]!;
    if (d.startsWith('expect ')) {
      const e = parseExpect(d.slice(7).trim());
      if ('string' in e) cmd.expectString = e.string;
      else if ('rangeVector' in e) {
        cmd.rangeVector = { startMs: duration(e.rangeVector[0], j + 1), endMs: duration(e.rangeVector[1], j + 1), stepMs: duration(e.rangeVector[2], j + 1) };
      } else cmd.expects.push(e);
    } else if (d.startsWith('expected_fail_message ')) {
      cmd.expects = cmd.expects.filter((x) => x.type !== 'fail');
      cmd.expects.push({ type: 'fail', match: 'msg', text: d.slice('expected_fail_message '.length).trim() });
    } else if (d.startsWith('expected_fail_regexp ')) {
      cmd.expects = cmd.expects.filter((x) => x.type !== 'fail');
      cmd.expects.push({ type: 'fail', match: 'regex', text: d.slice('expected_fail_regexp '.length).trim() });
    } else cmd.results.push(d);
  }
  return cmd;
}
