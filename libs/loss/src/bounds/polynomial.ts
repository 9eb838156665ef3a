import type { BigNumber, Fraction, MathNode } from 'mathjs';
import { big, exact, math } from './math';
import { compareSurds, squareFree, surdExpression, surdToNumber, type ExactSurd } from './surd';

/** Univariate polynomial with exact coefficients, ascending powers (index = power). */
export type Poly = Fraction[];

/** N/D in lowest terms: integer coefficients, common factors cancelled, D with positive leading coefficient. */
export interface RationalFunction {
  readonly numerator: Poly;
  readonly denominator: Poly;
}

const ZERO = math.fraction(0);
const ONE = math.fraction(1);

function trim(p: Poly): Poly {
  let n = p.length;
  while (n > 0 && p[n - 1].n === 0n) n--;
  return p.slice(0, n);
}

export function degree(p: Poly): number {
  return trim(p).length - 1;
}

function lead(p: Poly): Fraction {
  const t = trim(p);
  return t[t.length - 1];
}

/** mathjs text of a polynomial, e.g. `1*m^2 + -4*m^1 + 1*m^0` (integer-coefficient input keeps `rationalize` exact). */
export function polyText(p: Poly, variable: string): string {
  const t = trim(p);
  if (t.length === 0) return '0';
  return t.map((c, k) => `(${c.toFraction()})*${variable}^${k}`).join(' + ');
}

/** Canonical readable form from mathjs, e.g. `m ^ 2 - 4 * m + 1`. */
export function formatPoly(p: Poly, variable: string): string {
  return math.rationalize(polyText(p, variable)).toString();
}

/** Expands a polynomial expression with mathjs `rationalize(…, {}, true)` and reads its coefficients. */
export function expand(text: string, variable: string): Poly {
  const r = math.rationalize(text, {}, true);
  const foreign = r.variables.filter((v) => v !== variable);
  if (foreign.length > 0) throw new Error(`polynomial: unexpected symbol(s) ${foreign.join(', ')} in "${text}"`);
  if (r.variables.length === 0) return trim([exact.evaluate(r.expression.toString()) as Fraction]);
  return trim(
    r.coefficients.map((c) => {
      // Inputs have integer coefficients, so exact expansion yields integers; anything else means float drift.
      if (typeof c !== 'number' || !Number.isSafeInteger(c)) throw new Error(`polynomial: non-integer coefficient ${String(c)} expanding "${text}"`);
      return math.fraction(c);
    }),
  );
}

function scale(p: Poly, f: Fraction): Poly {
  return trim(p.map((c) => c.mul(f)));
}

/** Remainder and quotient of a / b over the rationals. */
function divide(a: Poly, b: Poly): { quotient: Poly; remainder: Poly } {
  const bt = trim(b);
  if (bt.length === 0) throw new Error('polynomial: division by the zero polynomial');
  let r = trim(a);
  const q: Poly = Array.from({ length: Math.max(r.length - bt.length + 1, 0) }, () => ZERO);
  while (r.length >= bt.length) {
    const shift = r.length - bt.length;
    const f = r[r.length - 1].div(bt[bt.length - 1]);
    q[shift] = f;
    r = trim(r.map((c, k) => (k >= shift && k - shift < bt.length ? c.sub(bt[k - shift].mul(f)) : c)));
  }
  return { quotient: trim(q), remainder: r };
}

/** Monic greatest common divisor (Euclid). */
export function gcd(a: Poly, b: Poly): Poly {
  let x = trim(a);
  let y = trim(b);
  while (y.length > 0) [x, y] = [y, divide(x, y).remainder];
  return x.length === 0 ? [ONE] : scale(x, ONE.div(lead(x)));
}

function lcmInt(x: bigint, y: bigint): bigint {
  let [p, q] = [x, y];
  while (q !== 0n) [p, q] = [q, p % q];
  return (x / p) * y;
}

function gcdInt(x: bigint, y: bigint): bigint {
  let [p, q] = [x < 0n ? -x : x, y < 0n ? -y : y];
  while (q !== 0n) [p, q] = [q, p % q];
  return p;
}

/** Positive rational factor that makes the coefficients coprime integers. */
function primitiveFactor(polys: Poly[]): Fraction {
  const cs = polys.flat().filter((c) => c.n !== 0n);
  const den = cs.reduce((acc, c) => lcmInt(acc, c.d), 1n);
  const num = cs.reduce((acc, c) => gcdInt(acc, c.mul(den.toString()).n), 0n);
  return math.fraction(den.toString()).div(num === 0n ? '1' : num.toString());
}

/** Cancels the gcd, then scales N and D together to coprime integers with D's leading coefficient positive. */
export function reduce(numerator: Poly, denominator: Poly): RationalFunction {
  const g = gcd(numerator, denominator);
  const n = divide(numerator, g).quotient;
  const d = divide(denominator, g).quotient;
  const f = primitiveFactor([n, d]).mul(lead(d).s < 0n ? -1 : 1);
  return { numerator: scale(n, f), denominator: scale(d, f) };
}

/** The polynomial scaled by a positive factor to coprime integers: same sign everywhere. */
export function primitive(p: Poly): Poly {
  return scale(p, primitiveFactor([p]));
}

function combine(x: RationalFunction, y: RationalFunction, op: string, variable: string): RationalFunction {
  const [xn, xd, yn, yd] = [x.numerator, x.denominator, y.numerator, y.denominator].map((p) => `(${polyText(p, variable)})`);
  const mul = (a: string, b: string) => expand(`${a} * ${b}`, variable);
  switch (op) {
    case '+':
    case '-':
      return reduce(expand(`${xn} * ${yd} ${op} ${yn} * ${xd}`, variable), mul(xd, yd));
    case '*':
      return reduce(mul(xn, yn), mul(xd, yd));
    case '/':
      if (trim(y.numerator).length === 0) throw new Error('polynomial: division by an expression that is identically 0');
      return reduce(mul(xn, yd), mul(xd, yn));
    default:
      throw new Error(`polynomial: unsupported operator ${op}`);
  }
}

/**
 * Rational function of one variable in lowest terms. mathjs `rationalize` throws "Operator / invalid" on a sum
 * of three fractions and never cancels common factors, so the tree is combined bottom-up, two fractions at a
 * time, each numerator and denominator expanded by `rationalize`, and common factors cancelled by `gcd`.
 */
export function toRationalFunction(expr: string | MathNode, variable: string): RationalFunction {
  const node = typeof expr === 'string' ? math.parse(expr) : expr;
  const walk = (n: MathNode): RationalFunction => {
    if (math.isParenthesisNode(n)) return walk(n.content);
    if (math.isConstantNode(n)) return reduce([math.fraction(n.value as number)], [ONE]);
    if (math.isSymbolNode(n)) {
      if (n.name !== variable) throw new Error(`polynomial: unexpected symbol "${n.name}" in "${node.toString()}" (only ${variable})`);
      return { numerator: [ZERO, ONE], denominator: [ONE] };
    }
    if (math.isOperatorNode(n)) {
      const args = n.args.map(walk);
      if (n.fn === 'unaryMinus') return { numerator: scale(args[0].numerator, math.fraction(-1)), denominator: args[0].denominator };
      if (n.fn === 'unaryPlus') return args[0];
      if (n.op === '^') {
        const e = n.args[1];
        if (!math.isConstantNode(e) || !Number.isInteger(e.value) || (e.value as number) < 0) {
          throw new Error(`polynomial: exponent must be a non-negative integer in "${n.toString()}"`);
        }
        return Array.from({ length: e.value as number }).reduce<RationalFunction>((acc) => combine(acc, args[0], '*', variable), {
          numerator: [ONE],
          denominator: [ONE],
        });
      }
      return args.slice(1).reduce((acc, a) => combine(acc, a, n.op, variable), args[0]);
    }
    throw new Error(`polynomial: unsupported node ${n.type} in "${node.toString()}"`);
  };
  return walk(node);
}

/** Replaces every symbol `name` by the expression `by`. */
export function substitute(expr: string | MathNode, name: string, by: string): MathNode {
  const node = typeof expr === 'string' ? math.parse(expr) : expr;
  const replacement = math.parse(`(${by})`);
  return node.transform((n) => (math.isSymbolNode(n) && n.name === name ? replacement : n));
}

/**
 * Taylor coefficients p⁽ᵏ⁾(a)/k! from repeated mathjs `derivative`, evaluated exactly. All ≥ 0 with the
 * constant one > 0 proves p > 0 on [a, ∞), since p(a + s) = Σ cₖ sᵏ with s ≥ 0.
 */
export function taylorAt(p: Poly, variable: string, at: number): Fraction[] {
  const out: Fraction[] = [];
  let node = math.parse(polyText(p, variable));
  let factorial = ONE;
  for (let k = 0; k <= Math.max(degree(p), 0); k++) {
    if (k > 0) factorial = factorial.mul(k);
    out.push((exact.evaluate(node.toString(), { [variable]: exact.fraction(at) }) as Fraction).div(factorial));
    node = math.derivative(node, variable);
  }
  return out;
}

export function positiveFrom(p: Poly, variable: string, at: number): { positive: boolean; taylor: Fraction[] } {
  const taylor = taylorAt(p, variable, at);
  return { positive: taylor[0].s > 0n && taylor[0].n !== 0n && taylor.every((c) => c.s > 0n || c.n === 0n), taylor };
}

/** How the threshold of `p ≥ 0` on [from, ∞) was found: real roots (exact), the threshold, and the check. */
export interface Threshold {
  readonly roots: ExactSurd[];
  readonly rootFormula: string;
  readonly threshold: ExactSurd;
  /** p(threshold) in 64-digit BigNumber arithmetic. */
  readonly residual: string;
  /** mathjs polynomialRoot (float) root nearest to the threshold. */
  readonly floatRoot: number;
}

/** Exact real roots of a polynomial of degree 1 or 2 (quadratic formula, radicand made square-free). */
export function exactRoots(p: Poly, variable: string): { roots: ExactSurd[]; formula: string } {
  const t = trim(p);
  if (t.length === 2) {
    const r = t[0].neg().div(t[1]);
    return { roots: [squareFree(r, ZERO, 1n)], formula: `${variable} = ${t[0].neg().toFraction()}/${t[1].toFraction()}` };
  }
  if (t.length !== 3) throw new Error(`polynomial: exact roots only for degree 1 or 2, got degree ${t.length - 1}`);
  const [c, b, a] = t;
  const disc = b.mul(b).sub(a.mul(c).mul(4));
  const text = `${variable} = (${b.neg().toFraction()} ± √${disc.toFraction()})/${a.mul(2).toFraction()}`;
  if (disc.s < 0n && disc.n !== 0n) return { roots: [], formula: `${text}: no real root` };
  // √(n/d) = √(n·d)/d keeps the radicand an integer.
  const half = ONE.div(a.mul(2));
  const sqrtScale = half.div(disc.d.toString());
  const radicand = disc.n * disc.d;
  const roots = [-1, 1].map((sign) => squareFree(b.neg().mul(half), sqrtScale.mul(sign), radicand));
  roots.sort(compareSurds);
  return { roots, formula: text };
}

/**
 * Smallest m* ≥ from with p ≥ 0 on [m*, ∞) and p < 0 on [from, m*): needs a positive leading coefficient
 * and at most one real root above `from`.
 */
export function thresholdFrom(p: Poly, variable: string, from: number): Threshold {
  if (degree(p) < 1) throw new Error(`polynomial: condition ${formatPoly(p, variable)} does not depend on ${variable}`);
  if (lead(p).s < 0n) throw new Error(`polynomial: ${formatPoly(p, variable)} ≥ 0 fails for large ${variable}; no threshold`);
  const { roots, formula } = exactRoots(p, variable);
  const start = squareFree(math.fraction(from), ZERO, 1n);
  const above = roots.filter((r) => compareSurds(r, start) > 0);
  if (above.length > 1) throw new Error(`polynomial: ${formatPoly(p, variable)} changes sign twice above ${from}; not a threshold`);
  const threshold = above[0] ?? start;
  // One simple root above `from`: p < 0 at `from`. No root above: p ≥ 0 at `from` (and so on all of [from, ∞)).
  const atStart = taylorAt(p, variable, from)[0];
  if ((atStart.s < 0n && atStart.n !== 0n) !== (above.length === 1)) {
    throw new Error(`polynomial: ${formatPoly(p, variable)} ≥ 0 is not of the form ${variable} ≥ const on [${from}, ∞)`);
  }
  const residual = big.evaluate(polyText(p, variable), { [variable]: big.evaluate(surdExpression(threshold)) }) as BigNumber;
  // Decimal's own comparison: mathjs `smaller` treats values within its absTol (1e-15) as equal.
  if (above.length === 1 && !residual.abs().lt('1e-60')) {
    throw new Error(`polynomial: ${formatPoly(p, variable)} at ${surdExpression(threshold)} = ${residual.toString()}, not 0 at 64 digits`);
  }
  const target = surdToNumber(threshold);
  const floats = (math.polynomialRoot as (...c: number[]) => unknown[])(...trim(p).map((c) => c.valueOf())).filter(
    (r): r is number => typeof r === 'number',
  );
  const floatRoot = floats.reduce(
    (best, r) => (Number.isNaN(best) || Math.abs(r - target) < Math.abs(best - target) ? r : best),
    Number.NaN,
  );
  return { roots, rootFormula: formula, threshold, residual: residual.toString(), floatRoot };
}
