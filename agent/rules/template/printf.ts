/**
 * Go's fmt.Sprintf over template values: verbs v s d f F e E g G x X o b c q t %, flags
 * `- + space 0 #`, width and precision (also `*`). Wrong verbs print Go's
 * `%!d(string=x)` markers instead of failing, as Go does.
 */
import { formatFloat } from './gofmt.ts';
import { GoDuration, GoHTML, GoInt, formatValue, goTypeName, type GoValue } from './values.ts';

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width: number | undefined;
  prec: number | undefined;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width;
  if (w === undefined || s.length >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - s.length);
  if (spec.zero && numeric) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
    const rest = sign ? s.slice(1) : s;
    if (/^[0-9]/.test(rest)) return sign + '0'.repeat(w - s.length) + rest;
  }
  return ' '.repeat(w - s.length) + s;
}

function signed(s: string, spec: Spec): string {
  if (s.startsWith('-')) return s;
  if (spec.plus) return '+' + s;
  if (spec.space) return ' ' + s;
  return s;
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

function bad(verb: string, arg: GoValue): string {
  return `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`;
}

function fmtFloatVerb(v: number, verb: string, spec: Spec): string {
  let s: string;
  switch (verb) {
    case 'v':
      s = formatFloat(v, 'g', spec.prec ?? -1);
      break;
    case 'g':
    case 'G':
      s = formatFloat(v, verb, spec.prec ?? -1);
      break;
    case 'e':
    case 'E':
      s = formatFloat(v, verb, spec.prec ?? 6);
      break;
    default:
      s = formatFloat(v, 'f', spec.prec ?? 6);
  }
  // Go prints +Inf only under %v-like verbs without the plus flag as "+Inf"; with other verbs too.
  if (s === '+Inf' && !spec.plus) s = spec.space ? ' Inf' : '+Inf';
  else if (Number.isFinite(v) || Number.isNaN(v)) s = signed(s, spec);
  return pad(s, spec, Number.isFinite(v));
}

function fmtInt(n: number, verb: string, spec: Spec): string | undefined {
  let s: string;
  const neg = n < 0;
  const a = Math.abs(n);
  switch (verb) {
    case 'v':
    case 'd':
      s = String(a);
      break;
    case 'x':
      s = (spec.sharp ? '0x' : '') + a.toString(16);
      break;
    case 'X':
      s = (spec.sharp ? '0X' : '') + a.toString(16).toUpperCase();
      break;
    case 'o':
      s = (spec.sharp ? '0' : '') + a.toString(8);
      break;
    case 'b':
      s = a.toString(2);
      break;
    case 'c':
      return pad(String.fromCodePoint(n), spec, false);
    case 'q':
      return pad("'" + String.fromCodePoint(n) + "'", spec, false);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return undefined;
    default:
      return undefined;
  }
  if (spec.prec !== undefined && s.length < spec.prec) s = '0'.repeat(spec.prec - s.length) + s;
  s = signed((neg ? '-' : '') + s, spec);
  return pad(s, spec, spec.prec === undefined);
}

function fmtString(str: string, verb: string, spec: Spec): string | undefined {
  let s = str;
  if (verb === 's' || verb === 'v') {
    if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
    return pad(s, spec, false);
  }
  if (verb === 'q') return pad(quote(s), spec, false);
  if (verb === 'x' || verb === 'X') {
    const hex = Buffer.from(s, 'utf8').toString('hex');
    return pad(verb === 'X' ? hex.toUpperCase() : hex, spec, false);
  }
  return undefined;
}

function fmtArg(arg: GoValue, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(goTypeName(arg), spec, false);
  if (typeof arg === 'number') {
    if ('vgGeEfF'.includes(verb)) return fmtFloatVerb(arg, verb, spec);
    return bad(verb, arg);
  }
  if (arg instanceof GoInt || arg instanceof GoDuration) {
    const n = arg instanceof GoInt ? arg.v : arg.ns;
    if (verb === 'v' || verb === 's') {
      if (arg instanceof GoDuration) return pad(formatValue(arg), spec, false);
      if (verb === 's') return bad(verb, arg);
    }
    return fmtInt(n, verb, spec) ?? bad(verb, arg);
  }
  if (typeof arg === 'string' || arg instanceof GoHTML) {
    const s = typeof arg === 'string' ? arg : arg.s;
    return fmtString(s, verb, spec) ?? bad(verb, arg);
  }
  if (typeof arg === 'boolean') {
    if (verb === 't' || verb === 'v') return pad(arg ? 'true' : 'false', spec, false);
    return bad(verb, arg);
  }
  if (verb === 'v' || verb === 's') return pad(formatValue(arg), spec, false);
  return bad(verb, arg);
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const ch = format[i];
    if (ch !== '%') {
      out += ch;
      i++;
      continue;
    }
    i++;
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const spec: Spec = { minus: false, plus: false, space: false, zero: false, sharp: false, width: undefined, prec: undefined };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === '-') spec.minus = true;
      else if (f === '+') spec.plus = true;
      else if (f === ' ') spec.space = true;
      else if (f === '0') spec.zero = !spec.minus;
      else if (f === '#') spec.sharp = true;
      else break;
    }
    const readNum = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        return a instanceof GoInt ? a.v : undefined;
      }
      const m = /^[0-9]+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    spec.width = readNum();
    if (format[i] === '.') {
      i++;
      spec.prec = readNum() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = format[i++];
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtArg(args[argi++], verb, spec);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => `${goTypeName(a)}=${formatValue(a)}`).join(', ') + ')';
  }
  return out;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: GoValue[]): string {
  let out = '';
  for (let k = 0; k < args.length; k++) {
    const isStr = typeof args[k] === 'string';
    if (k > 0 && !isStr && typeof args[k - 1] !== 'string') out += ' ';
    out += formatValue(args[k]);
  }
  return out;
}

/** fmt.Sprintln: always spaces, newline at the end. */
export function sprintln(args: GoValue[]): string {
  return args.map(formatValue).join(' ') + '\n';
}
