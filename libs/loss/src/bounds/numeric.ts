import { antipodal, CLAIM, crossover, perConfigurationValue, surdValue } from './claims';
import type { ClaimCheck, MarginBoundClaims } from './types';
import { surdToNumber, toExactSurd } from './surd';

/**
 * Margin bounds measured from the decision rule alone: on the unit circle, a feature at angle φ belongs to
 * class i when m·d(φ, Wᵢ) < min_{j≠i} d(φ, Wⱼ) (d = geodesic angle). No formula from the paper is used.
 */

const TAU = 2 * Math.PI;
const DEG = Math.PI / 180;
/** Agreement required between a measured threshold and the claimed one. */
export const NUMERIC_TOLERANCE = 1e-9;

export function geodesic(a: number, b: number): number {
  const d = Math.abs(a - b) % TAU;
  return Math.min(d, TAU - d);
}

/** The A-Softmax decision rule on the circle. */
export function inRegion(phi: number, i: number, weights: readonly number[], m: number): boolean {
  const own = m * geodesic(phi, weights[i]);
  return weights.every((w, j) => j === i || own < geodesic(phi, w));
}

/** Bisection to machine precision for a predicate true at `lo` and false at `hi`; returns the bracket midpoint. */
function bisect(pred: (x: number) => boolean, lo: number, hi: number, what: string): number {
  if (!pred(lo) || pred(hi)) throw new Error(`numeric: ${what}: predicate does not flip on [${lo}, ${hi}]`);
  for (;;) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) return (lo + hi) / 2;
    if (pred(mid)) lo = mid;
    else hi = mid;
  }
}

export interface Arc {
  /** Unwrapped ends, start ≤ Wᵢ ≤ end. */
  readonly start: number;
  readonly end: number;
}

/**
 * Class regions as arcs around their weights. Along each direction from Wᵢ the rule flips exactly once for
 * m > 1: m·α grows at rate m while min_j d(·, Wⱼ) is 1-Lipschitz; at α = π it fails since m·π ≥ π ≥ any d.
 */
export function classRegions(weights: readonly number[], m: number): Arc[] {
  return weights.map((w, i) => {
    const reach = (dir: number) => bisect((a) => inRegion(w + dir * a, i, weights, m), 0, Math.PI, `region of class ${i}, m = ${m}`);
    return { start: w - reach(-1), end: w + reach(1) };
  });
}

/** Largest intra-class angle (arc width, at most π) and smallest geodesic gap between different classes' arcs. */
export function intraInter(weights: readonly number[], m: number): { intra: number; inter: number } {
  const arcs = classRegions(weights, m);
  const intra = Math.max(...arcs.map((a) => Math.min(a.end - a.start, Math.PI)));
  let inter = Infinity;
  // Regions of different classes are disjoint, and the distance between disjoint arcs is attained at end points.
  for (let i = 0; i < arcs.length; i++) {
    for (let j = i + 1; j < arcs.length; j++) {
      for (const p of [arcs[i].start, arcs[i].end]) for (const q of [arcs[j].start, arcs[j].end]) inter = Math.min(inter, geodesic(p, q));
    }
  }
  return { intra, inter };
}

export function marginHolds(weights: readonly number[], m: number): boolean {
  const { intra, inter } = intraInter(weights, m);
  return intra <= inter;
}

/** Smallest m with max intra ≤ min inter, by bisection (regions shrink as m grows, so the test is monotone). */
export function smallestMargin(weights: readonly number[], lo = 1, hi = 16): number {
  return bisect((m) => !marginHolds(weights, m), lo, hi, `margin for weights [${weights.join(', ')}]`);
}

export const binaryThreshold = (theta12: number) => smallestMargin([0, theta12]);
export const uniformThreshold = (k: number) => smallestMargin(Array.from({ length: k }, (_, i) => (TAU * i) / k));

export interface BinarySweep {
  /** sup of m*(θ12) over the grid θ12 = iπ/steps, i = 1…steps. */
  readonly sup: number;
  /** Smallest grid θ12 (radians) where m* is within `resolution` of the sup. */
  readonly plateauStart: number;
  /** Largest θ12 (radians) where m* still equals the sup, located by bisection between grid points. */
  readonly plateauEnd: number;
}

/**
 * Sweeps θ12. The plateau end is where m*(θ12) first drops below sup − resolution; `resolution` only
 * sets how finely that edge is located (its angle moves by about resolution·θ²/2π).
 */
export function sweepBinary(steps = 360, resolution = 1e-12): BinarySweep {
  const grid = Array.from({ length: steps }, (_, i) => ((i + 1) * Math.PI) / steps);
  const values = grid.map(binaryThreshold);
  const sup = Math.max(...values);
  const level = sup - resolution;
  const first = values.findIndex((v) => v >= level);
  const last = values.reduce((acc, v, i) => (v >= level ? i : acc), -1);
  const plateauEnd =
    last === steps - 1 ? Math.PI : bisect((t) => !marginHolds([0, t], level), grid[last], grid[last + 1], 'plateau end of m*(θ12)');
  return { sup, plateauStart: grid[first], plateauEnd };
}

const CONFIGURATIONS_DEG = [60, 120, 135, 150, 180];
const UNIFORM_K = [3, 4, 5, 6, 7, 8];
const fmt = (x: number) => x.toFixed(12);

function check(claim: string, run: (details: string[]) => boolean): ClaimCheck {
  const t0 = performance.now();
  const details: string[] = [];
  let ok = false;
  try {
    ok = run(details);
  } catch (e) {
    details.push(`error: ${(e as Error).message}`);
  }
  return { claim, method: 'numeric', verdict: ok ? 'pass' : 'fail', timeMs: performance.now() - t0, details };
}

/** Compares and records one measured value; true when within NUMERIC_TOLERANCE. */
function agree(details: string[], label: string, measured: number, claimed: number): boolean {
  const diff = Math.abs(measured - claimed);
  const ok = diff <= NUMERIC_TOLERANCE;
  details.push(`${label}: measured ${fmt(measured)}, claimed ${fmt(claimed)}, |Δ| = ${diff.toExponential(2)} ${ok ? '≤' : '>'} ${NUMERIC_TOLERANCE}`);
  return ok;
}

/** Numeric checks of all four claims from the decision rule. */
export function numericChecks(claims: MarginBoundClaims): ClaimCheck[] {
  let sweep: BinarySweep | undefined;
  const getSweep = () => (sweep ??= sweepBinary());
  return [
    check(CLAIM.binary(claims), (details) => {
      const s = getSweep();
      details.push('m*(θ12) = smallest m with max intra ≤ min inter, for θ12 = iπ/360, i = 1…360; sup taken');
      const edge = binaryThreshold(s.plateauEnd);
      details.push(`m* is flat at the sup from θ12 = ${fmt(s.plateauStart / DEG)}° to ${fmt(s.plateauEnd / DEG)}° (end by bisection; m* there ${fmt(edge)})`);
      return agree(details, 'binary sup', Math.max(s.sup, edge), surdValue(claims.binary));
    }),
    check(CLAIM.perConfiguration(claims), (details) => {
      const results = CONFIGURATIONS_DEG.map((deg) =>
        agree(details, `θ12 = ${deg}°`, binaryThreshold(deg * DEG), perConfigurationValue(claims, deg / 180)),
      );
      const edge = agree(details, 'crossover θ12/π', getSweep().plateauEnd / Math.PI, surdToNumber(crossover(claims)));
      return results.every(Boolean) && edge;
    }),
    check(CLAIM.antipodal(claims), (details) => agree(details, 'θ12 = 180°', binaryThreshold(Math.PI), surdToNumber(antipodal(claims)))),
    check(CLAIM.uniform(claims), (details) => {
      const claimed = surdToNumber(toExactSurd(claims.uniform));
      return UNIFORM_K.map((k) => agree(details, `k = ${k} uniform`, uniformThreshold(k), claimed)).every(Boolean);
    }),
  ];
}
