import { antipodal, CLAIM } from './claims';
import type { ClaimCheck, MarginBoundClaims } from './types';
import { math } from './math';
import {
  formatPoly,
  positiveFrom,
  primitive,
  substitute,
  thresholdFrom,
  toRationalFunction,
  type Poly,
  type RationalFunction,
  type Threshold,
} from './polynomial';
import { compareSurds, formatSurd, toExactSurd, type ExactSurd } from './surd';

/** One inequality RHS − LHS ≥ 0 turned into a polynomial condition on m. */
export interface Derivation {
  readonly label: string;
  /** RHS − LHS after the reduction steps (scale factor divided out, substitution made), in lowest terms. */
  readonly reduced: RationalFunction;
  /** Primitive integer polynomial with the sign of `reduced` on the domain: the condition is `condition ≥ 0`. */
  readonly condition: Poly;
  readonly threshold: Threshold;
  readonly steps: string[];
}

export interface SymbolicBounds {
  /** (8) case θ12 ≤ (m−1)π/m. */
  readonly inequality8: Derivation;
  /** (9) case θ12 > (m−1)π/m, at its binding point θ12 → (m−1)π/m. */
  readonly inequality9: Derivation;
  /** (9) at θ12 = π. */
  readonly antipodal: Derivation;
  /** (10), one derivation per term of the min. */
  readonly inequality10: Derivation[];
  readonly binary: ExactSurd;
  readonly uniform: ExactSurd;
}

const M = 'm';
const fmtRf = (r: RationalFunction) => `(${formatPoly(r.numerator, M)}) / (${formatPoly(r.denominator, M)})`;
const list = (cs: { toFraction(): string }[]) => `[${cs.map((c) => c.toFraction()).join(', ')}]`;

/**
 * Divides RHS − LHS by the angle `scale` > 0: valid because ∂D/∂scale is free of `scale` (D affine in it)
 * and D(scale = 0) = 0, so D = scale·∂D/∂scale.
 */
function divideByAngle(difference: string, scale: string, steps: string[]): RationalFunction {
  const slope = math.derivative(difference, scale);
  const atZero = toRationalFunction(substitute(difference, scale, '0'), M);
  if (atZero.numerator.length > 0) throw new Error(`symbolic: ${difference} is not proportional to ${scale}`);
  // toRationalFunction rejects any remaining `scale` symbol, which is the "free of scale" check.
  const reduced = toRationalFunction(slope, M);
  steps.push(`∂D/∂${scale} = ${slope.toString()} (free of ${scale}), D(${scale} = 0) = 0 ⇒ D = ${scale}·∂D/∂${scale}; divide by ${scale} > 0`);
  return reduced;
}

function finish(label: string, reduced: RationalFunction, from: number, steps: string[]): Derivation {
  steps.push(`rationalised: ${fmtRf(reduced)}`);
  const den = positiveFrom(reduced.denominator, M, from);
  if (!den.positive) throw new Error(`symbolic: ${label}: cannot show ${formatPoly(reduced.denominator, M)} > 0 for m ≥ ${from}`);
  steps.push(`denominator ${formatPoly(reduced.denominator, M)} > 0 for m ≥ ${from}: Taylor coefficients at ${from} = ${list(den.taylor)} (all ≥ 0)`);
  const condition = primitive(reduced.numerator);
  steps.push(`condition: ${formatPoly(condition, M)} ≥ 0`);
  const threshold = thresholdFrom(condition, M, from);
  steps.push(`roots: ${threshold.rootFormula} → ${threshold.roots.map((r) => formatSurd(r)).join(', ') || 'none'}`);
  steps.push(`⇒ m ≥ ${formatSurd(threshold.threshold)} on m ≥ ${from}; residual at 64 digits ${threshold.residual}, polynomialRoot ${threshold.floatRoot}`);
  return { label, reduced, condition, threshold, steps };
}

function deriveInequality8(): Derivation {
  const steps = ['(8) t/(m−1) + t/(m+1) ≤ (m−1)t/(m+1) with t = θ12 ≤ (m−1)π/m; D = RHS − LHS'];
  const d = '(m-1)*t/(m+1) - (t/(m-1) + t/(m+1))';
  return finish('(8)', divideByAngle(d, 't', steps), 2, steps);
}

/** (9) with u = θ12/π ∈ ((m−1)/m, 1]; `at` is where u is evaluated after the monotonicity step. */
function deriveInequality9(label: string, at: string, why: string): Derivation {
  const steps = ['(9) (2π−θ12)/(m+1) + θ12/(m+1) ≤ (m−1)θ12/(m+1), θ12 > (m−1)π/m; divide by π: u = θ12/π, D = RHS − LHS'];
  const d = '(m-1)*u/(m+1) - ((2-u)/(m+1) + u/(m+1))';
  const slope = toRationalFunction(math.derivative(d, 'u'), M);
  const up = positiveFrom(slope.numerator, M, 2).positive && positiveFrom(slope.denominator, M, 2).positive;
  if (!up) throw new Error('symbolic: (9): ∂D/∂u is not positive for m ≥ 2');
  steps.push(`∂D/∂u = ${fmtRf(slope)} > 0 for m ≥ 2 (free of u): D increases with u`);
  steps.push(`${why}: u = ${at}`);
  return finish(label, toRationalFunction(substitute(d, 'u', at), M), 2, steps);
}

/** (10) for uniform spacing: both angles equal θ = 2π/k, so each term of the min gives one condition. */
function deriveInequality10(): Derivation[] {
  const lhs = 'a/(m+1) + b/(m+1)';
  return ['a', 'b'].map((side) => {
    const steps = [`(10) a/(m+1) + b/(m+1) ≤ (m−1)${side}/(m+1) (one term of the min); uniform: a = b = t = 2π/k`];
    const d = substitute(substitute(`(m-1)*${side}/(m+1) - (${lhs})`, 'a', 't'), 'b', 't').toString();
    return finish(`(10) term ${side}`, divideByAngle(d, 't', steps), 1, steps);
  });
}

const maxSurd = (xs: ExactSurd[]) => xs.reduce((p, q) => (compareSurds(p, q) >= 0 ? p : q));

const deriveBinary = () => [deriveInequality8(), deriveInequality9('(9)', '(m-1)/m', 'the infimum of the case binds (open end, D continuous)')];
const deriveAntipodal = () => deriveInequality9('(9) at θ12 = π', '1', 'antipodal weights (case (9) for every m, since m·1 > m − 1)');

export function deriveMarginBounds(): SymbolicBounds {
  const [inequality8, inequality9] = deriveBinary();
  const anti = deriveAntipodal();
  const inequality10 = deriveInequality10();
  return {
    inequality8,
    inequality9,
    antipodal: anti,
    inequality10,
    binary: maxSurd([inequality8.threshold.threshold, inequality9.threshold.threshold]),
    uniform: maxSurd(inequality10.map((d) => d.threshold.threshold)),
  };
}

function timed(claim: string, claimed: ExactSurd, derive: () => { value: ExactSurd; derivations: Derivation[] }): ClaimCheck {
  const t0 = performance.now();
  const details: string[] = [];
  let verdict: 'pass' | 'fail' = 'fail';
  try {
    const { value, derivations } = derive();
    for (const d of derivations) details.push(...d.steps);
    const same = compareSurds(value, claimed) === 0;
    details.push(`derived ${formatSurd(value)} ${same ? '=' : '≠'} claimed ${formatSurd(claimed)} (exact comparison)`);
    verdict = same ? 'pass' : 'fail';
  } catch (e) {
    details.push(`error: ${(e as Error).message}`);
  }
  return { claim, method: 'symbolic', verdict, timeMs: performance.now() - t0, details };
}

/** Symbolic checks of Property 2, the antipodal case and Property 3 (mathjs). */
export function symbolicChecks(claims: MarginBoundClaims): ClaimCheck[] {
  return [
    timed(CLAIM.binary(claims), toExactSurd(claims.binary), () => {
      const derivations = deriveBinary();
      return { value: maxSurd(derivations.map((d) => d.threshold.threshold)), derivations };
    }),
    timed(CLAIM.antipodal(claims), antipodal(claims), () => {
      const d = deriveAntipodal();
      return { value: d.threshold.threshold, derivations: [d] };
    }),
    timed(CLAIM.uniform(claims), toExactSurd(claims.uniform), () => {
      const derivations = deriveInequality10();
      return { value: maxSurd(derivations.map((d) => d.threshold.threshold)), derivations };
    }),
  ];
}
