/**
 * Go's float formatting (strconv.FormatFloat and the fmt verbs built on it), so that
 * alert text reads exactly as Prometheus renders it: `{{ $value }}` of 1e6 is `1e+06`,
 * `%.4g` drops trailing zeros, ties round half to even on the exact binary value.
 * Shortest digits come from JavaScript's round-trip algorithm (the same shortest
 * digits Go's Ryu finds); fixed precision is rounded on the exact decimal expansion.
 */

/** Decimal digits of a finite non-negative float: value = 0.d1d2d3... × 10^dp. */
interface Digits {
  d: string; // no leading or trailing zeros; '' for zero
  dp: number;
}

function shortestDigits(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const s = v.toExponential(); // e.g. "1.2345675e+6"
  const [mant, exp] = s.split('e');
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(exp) + 1 };
}

/** Exact decimal expansion of a finite non-negative double. */
function exactDigits(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, v);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp; // divide by 10^-exp
  }
  const trimmed = digits.replace(/0+$/, '');
  return { d: trimmed, dp };
}

/** Rounds to nd significant digits, half to even on exact ties (Go's shouldRoundUp). */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0) return { d: '', dp: x.dp };
  if (nd >= x.d.length) return x;
  const next = x.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  if (!up) return { d: x.d.slice(0, nd).replace(/0+$/, ''), dp: x.dp };
  // propagate the carry
  const arr = x.d.slice(0, nd).split('').map(Number);
  let i = arr.length - 1;
  while (i >= 0 && arr[i] === 9) {
    arr[i] = 0;
    i--;
  }
  if (i < 0) return { d: '1', dp: x.dp + 1 };
  arr[i]++;
  return { d: arr.slice(0, i + 1).join(''), dp: x.dp };
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? x.d[i] : '0';
}

function fmtE(x: Digits, prec: number, upper: boolean): string {
  let out = x.d.length === 0 ? '0' : x.d[0];
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(x, i);
  }
  let exp = x.d.length === 0 ? 0 : x.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  if (exp < 0) exp = -exp;
  return out + (upper ? 'E' : 'e') + sign + (exp < 10 ? '0' : '') + String(exp);
}

function fmtF(x: Digits, prec: number): string {
  let out = '';
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) out += digitAt(x, i);
  } else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(x, x.dp + i);
  }
  return out;
}

/**
 * strconv.FormatFloat(v, fmt, prec, 64) for fmt in e, E, f, g, G; prec -1 means the
 * shortest representation that round-trips.
 */
export function formatFloat(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const body = formatAbs(Math.abs(v), fmt, prec);
  return neg ? '-' + body : body;
}

function formatAbs(v: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  const shortest = prec < 0;
  let x: Digits;
  if (shortest) {
    x = shortestDigits(v);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(x.d.length - 1, 0);
    else if (fmt === 'f') prec = Math.max(x.d.length - x.dp, 0);
    else prec = x.d.length;
  } else {
    const exact = exactDigits(v);
    if (fmt === 'e' || fmt === 'E') x = roundDigits(exact, prec + 1);
    else if (fmt === 'f') x = roundDigits(exact, exact.dp + prec);
    else {
      if (prec === 0) prec = 1;
      x = roundDigits(exact, prec);
    }
  }
  if (fmt === 'e' || fmt === 'E') return fmtE(x, prec, fmt === 'E');
  if (fmt === 'f') return fmtF(x, prec);
  // %g: %e when the exponent is < -4 or >= the precision (6 when shortest).
  let eprec = prec;
  if (eprec > x.d.length && x.d.length >= x.dp) eprec = x.d.length;
  if (shortest) eprec = 6;
  const exp = x.dp - 1;
  if (x.d.length !== 0 && (exp < -4 || exp >= eprec)) {
    if (prec > x.d.length) prec = x.d.length;
    return fmtE(x, Math.max(prec - 1, 0), fmt === 'G');
  }
  if (prec > x.dp) prec = x.d.length;
  return fmtF(x, Math.max(prec - x.dp, 0));
}

/** Go's `%v` of a float64 (fmt uses 'g' with the shortest precision). */
export function formatGoFloat(v: number): string {
  return formatFloat(v, 'g', -1);
}
