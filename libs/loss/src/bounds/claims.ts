import { math } from './math';
import { compareSurds, formatSurd, squareFree, surdToNumber, toExactSurd, type ExactSurd } from './surd';
import type { MarginBoundClaims, Surd } from './types';

export const CLAIM = {
  binary: (c: MarginBoundClaims) => `Property 2 (two classes, worst θ12): m_min = ${formatSurd(c.binary)}`,
  perConfiguration: (c: MarginBoundClaims) =>
    `Per configuration: m*(θ12) = ${formatSurd(c.binary)} for θ12 ≤ (${formatSurd(crossover(c))})·π, 1 + 2π/θ12 above`,
  antipodal: (c: MarginBoundClaims) => `Antipodal weights (θ12 = π): m_min = ${formatSurd(antipodal(c))}`,
  uniform: (c: MarginBoundClaims) => `Property 3 (k ≥ 3 uniformly spaced classes): m_min = ${formatSurd(c.uniform)}`,
} as const;

/**
 * u_c = θ_c/π where the two per-configuration thresholds meet: B = 1 + 2/u_c ⇒ u_c = 2/(B − 1)
 * (√3 − 1 for B = 2 + √3), rationalised exactly.
 */
export function crossover(c: MarginBoundClaims): ExactSurd {
  const { a, b, d } = toExactSurd(c.binary);
  const p = a.sub(1);
  // 2/(p + b√d) = 2(p − b√d)/(p² − b²d)
  const norm = p.mul(p).sub(b.mul(b).mul(d.toString()));
  if (norm.n === 0n) throw new Error(`claims: binary bound ${formatSurd(c.binary)} leaves no crossover (B = 1)`);
  const f = math.fraction(2).div(norm);
  return squareFree(p.mul(f), b.neg().mul(f), d);
}

/** Claimed per-configuration threshold m*(u) = min(B, 1 + 2/u) with u = θ12/π, as a float. */
export function perConfigurationValue(c: MarginBoundClaims, u: number): number {
  return Math.min(surdValue(c.binary), 1 + 2 / u);
}

/** Claimed antipodal threshold min(B, 3), exact. */
export function antipodal(c: MarginBoundClaims): ExactSurd {
  const b = toExactSurd(c.binary);
  const three = squareFree(math.fraction(3), math.fraction(0), 1n);
  return compareSurds(b, three) < 0 ? b : three;
}

export function surdValue(s: Surd): number {
  return surdToNumber(toExactSurd(s));
}
