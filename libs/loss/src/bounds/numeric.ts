import { antipodal, CLAIM, crossover, perConfigurationValue, surdValue } from './claims';
import type { ClaimCheck, MarginBoundClaims } from './types';
import { binaryThreshold, bisect, marginHolds, uniformThreshold } from './decision-rule';
import { surdToNumber, toExactSurd } from './surd';

/**
 * Margin bounds measured from the decision rule alone: on the unit circle, a feature at angle φ belongs to
 * class i when m·d(φ, Wᵢ) < min_{j≠i} d(φ, Wⱼ) (d = geodesic angle). No formula from the paper is used.
 */

const DEG = Math.PI / 180;
/** Agreement required between a measured threshold and the claimed one. */
export const NUMERIC_TOLERANCE = 1e-9;

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
