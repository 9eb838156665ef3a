import type { Fraction } from 'mathjs';
import { math } from './math';
import type { Surd } from './types';

/** Surd with exact parts, radicand square-free (coefficient 0 ⇒ radicand 1). */
export interface ExactSurd {
  readonly a: Fraction;
  readonly b: Fraction;
  readonly d: bigint;
}

export function toExactSurd(s: Surd): ExactSurd {
  if (!Number.isInteger(s.radicand) || s.radicand < 1) {
    throw new Error(`surd: radicand must be a positive integer, got ${s.radicand}`);
  }
  const parse = (text: string, what: string): Fraction => {
    try {
      return math.fraction(text);
    } catch {
      throw new Error(`surd: ${what} "${text}" is not an exact rational (use e.g. '2', '-1/1000000', '1.5')`);
    }
  };
  return squareFree(parse(s.rational, 'rational part'), parse(s.coefficient, 'coefficient'), BigInt(s.radicand));
}

/** Pulls square factors out of the radicand: √12 → 2√3. */
export function squareFree(a: Fraction, b: Fraction, d: bigint): ExactSurd {
  let rest = d;
  let outside = 1n;
  for (let p = 2n; p * p <= rest; p++) {
    while (rest % (p * p) === 0n) {
      rest /= p * p;
      outside *= p;
    }
  }
  const coefficient = b.mul(outside.toString());
  if (rest === 1n || coefficient.n === 0n) {
    return { a: rest === 1n ? a.add(coefficient) : a, b: math.fraction(0), d: 1n };
  }
  return { a, b: coefficient, d: rest };
}

/** Exact sign of x + y·√d (d ≥ 1). */
function signOf(x: Fraction, y: Fraction, d: bigint): number {
  const sx = Number(x.s) * (x.n === 0n ? 0 : 1);
  const sy = Number(y.s) * (y.n === 0n ? 0 : 1);
  if (sx >= 0 && sy >= 0) return sx + sy === 0 ? 0 : 1;
  if (sx <= 0 && sy <= 0) return -1;
  // Opposite signs: compare x² with y²·d.
  const c = x.mul(x).compare(y.mul(y).mul(d.toString()));
  return c === 0 ? 0 : sx > 0 ? Math.sign(c) : -Math.sign(c);
}

/** Exact comparison of two surds; they must share the radicand unless one is rational. */
export function compareSurds(p: ExactSurd, q: ExactSurd): number {
  if (p.d !== q.d && p.b.n !== 0n && q.b.n !== 0n) {
    // Not needed by the checks; refuse instead of silently comparing floats.
    throw new Error(`surd: cannot compare √${p.d} with √${q.d} exactly`);
  }
  return signOf(p.a.sub(q.a), p.b.sub(q.b), p.b.n !== 0n ? p.d : q.d);
}

export function surdToNumber(s: ExactSurd): number {
  return s.a.valueOf() + s.b.valueOf() * Math.sqrt(Number(s.d));
}

/** mathjs expression text, e.g. `2 + 1 * sqrt(3)` (for BigNumber evaluation). */
export function surdExpression(s: ExactSurd): string {
  return s.b.n === 0n ? `(${s.a.toFraction()})` : `(${s.a.toFraction()}) + (${s.b.toFraction()}) * sqrt(${s.d})`;
}

/** Readable form: `2 + √3`, `3`, `1999999/1000000 + √3`. */
export function formatSurd(s: Surd | ExactSurd): string {
  const e = 'radicand' in s ? toExactSurd(s) : s;
  if (e.b.n === 0n) return e.a.toFraction();
  const root = `√${e.d}`;
  const magnitude = e.b.abs();
  const term = magnitude.equals(1) ? root : `${magnitude.toFraction()}·${root}`;
  if (e.a.n === 0n) return e.b.s < 0n ? `−${term}` : term;
  if (e.a.s < 0n && e.b.s > 0n) return `${term} − ${e.a.abs().toFraction()}`;
  return `${e.a.toFraction()} ${e.b.s < 0n ? '−' : '+'} ${term}`;
}
