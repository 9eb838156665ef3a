import { describe, expect, it } from 'vitest';
import { crossover } from './claims';
import { math } from './math';
import { gcd, positiveFrom, thresholdFrom, toRationalFunction, type Poly } from './polynomial';
import { compareSurds, formatSurd, surdToNumber, toExactSurd } from './surd';
import { deriveMarginBounds, symbolicChecks } from './symbolic';
import { PAPER_CLAIMS, surd } from './types';

// One file for the symbolic path (surds, rational functions, derivation): each test file pays the mathjs import.
const coeffs = (p: Poly) => p.map((c) => c.valueOf());

describe('surd', () => {
  it('pulls square factors out of the radicand', () => {
    const parts = (...args: Parameters<typeof surd>) => {
      const e = toExactSurd(surd(...args));
      return [e.a.toFraction(), e.b.toFraction(), e.d];
    };
    expect(parts('1/2', '1/2', 12)).toEqual(['1/2', '1', 3n]);
    expect(parts(1, 3, 4)).toEqual(['7', '0', 1n]);
  });

  it('compares exactly, also where floats cannot tell', () => {
    const b = toExactSurd(surd(2, 1, 3));
    // Within a few ulps of 2 + √3 as doubles; exactly, the rational is larger by about 7e-18.
    const near = toExactSurd(surd('37320508075688773/10000000000000000'));
    expect(Math.abs(surdToNumber(b) - surdToNumber(near))).toBeLessThanOrEqual(4 * Number.EPSILON);
    expect(compareSurds(b, near)).toBe(-1);
    expect(compareSurds(near, b)).toBe(1);
    expect(compareSurds(b, toExactSurd(surd(2, 1, 3)))).toBe(0);
    expect(compareSurds(toExactSurd(surd(3)), b)).toBe(-1);
  });

  it('formats readably', () => {
    expect(formatSurd(surd(2, 1, 3))).toBe('2 + √3');
    expect(formatSurd(surd(-1, 1, 3))).toBe('√3 − 1');
    expect(formatSurd(surd(2, '-1/2', 3))).toBe('2 − 1/2·√3');
    expect(formatSurd(surd(3))).toBe('3');
  });

  it('names the bad input', () => {
    expect(() => toExactSurd(surd(2, 1, 0))).toThrow(/radicand must be a positive integer, got 0/);
    expect(() => toExactSurd(surd('2+x', 1, 3))).toThrow(/rational part "2\+x" is not an exact rational/);
  });

  it('gives the crossover √3 − 1 for the paper bound', () => {
    expect(compareSurds(crossover(PAPER_CLAIMS), toExactSurd(surd(-1, 1, 3)))).toBe(0);
  });
});

const poly = (...cs: number[]): Poly => cs.map((c) => math.fraction(c));

describe('rational functions via mathjs rationalize', () => {
  it('cancels common factors that rationalize leaves', () => {
    const r = toRationalFunction('(m^2-1)/(m-1)', 'm');
    expect(coeffs(r.numerator)).toEqual([1, 1]);
    expect(coeffs(r.denominator)).toEqual([1]);
  });

  it('combines three fractions (rationalize alone throws "Operator / invalid")', () => {
    expect(() => math.rationalize('(m-1)/(m+1) - (1/(m-1) + 1/(m+1))')).toThrow(/Operator \/ invalid/);
    const r = toRationalFunction('(m-1)/(m+1) - (1/(m-1) + 1/(m+1))', 'm');
    expect(coeffs(r.numerator)).toEqual([1, -4, 1]);
    expect(coeffs(r.denominator)).toEqual([-1, 0, 1]);
  });

  it('rejects a foreign symbol and division by zero', () => {
    expect(() => toRationalFunction('m + t', 'm')).toThrow(/unexpected symbol "t"/);
    expect(() => toRationalFunction('1/(m-m)', 'm')).toThrow(/identically 0/);
  });

  it('computes a monic gcd', () => {
    expect(coeffs(gcd(poly(-1, 0, 1), poly(1, 2, 1)))).toEqual([1, 1]);
  });
});

describe('signs and thresholds on [a, ∞)', () => {
  it('proves positivity from Taylor coefficients and refuses when one is negative', () => {
    expect(positiveFrom(poly(-1, 0, 1), 'm', 2).positive).toBe(true);
    // m² − 3m + 3 > 0 everywhere, but its Taylor coefficient at 1 is −1: the sufficient test says no.
    expect(positiveFrom(poly(3, -3, 1), 'm', 1).positive).toBe(false);
    expect(positiveFrom(poly(-1, 1), 'm', 1).positive).toBe(false);
  });

  it('solves the quadratic exactly and checks the root at 64 digits', () => {
    const t = thresholdFrom(poly(1, -4, 1), 'm', 2);
    expect(formatSurd(t.threshold)).toBe('2 + √3');
    expect(t.roots.map((r) => formatSurd(r))).toEqual(['2 − √3', '2 + √3']);
    expect(t.floatRoot).toBeCloseTo(2 + Math.sqrt(3), 14);
  });

  it('refuses conditions that are not a threshold', () => {
    expect(() => thresholdFrom(poly(12, -7, 1), 'm', 2)).toThrow(/changes sign twice above 2/);
    expect(() => thresholdFrom(poly(-1, 0, -1), 'm', 2)).toThrow(/fails for large m/);
    expect(() => thresholdFrom(poly(1, 0, 0, 1), 'm', 2)).toThrow(/degree 1 or 2/);
  });
});

describe('symbolic derivation (mathjs)', () => {
  const bounds = deriveMarginBounds();

  it('turns (8) and (9) into exactly m² − 4m + 1 ≥ 0', () => {
    expect(coeffs(bounds.inequality8.condition)).toEqual([1, -4, 1]);
    expect(coeffs(bounds.inequality8.reduced.denominator)).toEqual([-1, 0, 1]);
    expect(coeffs(bounds.inequality9.condition)).toEqual([1, -4, 1]);
    expect(coeffs(bounds.inequality9.reduced.denominator)).toEqual([0, 1, 1]);
  });

  it('turns (9) at θ12 = π and both terms of (10) into exactly m − 3 ≥ 0', () => {
    expect(coeffs(bounds.antipodal.condition)).toEqual([-3, 1]);
    expect(bounds.inequality10).toHaveLength(2);
    for (const d of bounds.inequality10) expect(coeffs(d.condition)).toEqual([-3, 1]);
  });

  it('obtains 2 + √3 and 3 exactly', () => {
    expect(formatSurd(bounds.binary)).toBe('2 + √3');
    expect(formatSurd(bounds.uniform)).toBe('3');
    expect(formatSurd(bounds.antipodal.threshold.threshold)).toBe('3');
  });

  it('passes the paper claims', () => {
    const checks = symbolicChecks(PAPER_CLAIMS);
    expect(checks.map((c) => c.verdict)).toEqual(['pass', 'pass', 'pass']);
  });

  it('fails wrong claimed bounds', () => {
    const low = symbolicChecks({ binary: surd('1999999/1000000', 1, 3), uniform: surd('3000001/1000000') });
    expect(low.map((c) => c.verdict)).toEqual(['fail', 'pass', 'fail']);
    expect(low[0].details.at(-1)).toBe('derived 2 + √3 ≠ claimed 1999999/1000000 + √3 (exact comparison)');
    // A rational equal to 2 + √3 to 16 digits would pass a float comparison; the exact one refuses it.
    const nearly = symbolicChecks({ ...PAPER_CLAIMS, binary: surd('37320508075688773/10000000000000000') });
    expect(nearly[0].verdict).toBe('fail');
  });
});
