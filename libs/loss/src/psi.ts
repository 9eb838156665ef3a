/**
 * The A-Softmax margin function of the SphereFace paper (Liu et al., CVPR 2017, eq. 6):
 *   ψ(θ) = (−1)^k cos(mθ) − 2k  for θ ∈ [kπ/m, (k+1)π/m], k ∈ {0, …, m−1}.
 * ψ is the monotonically decreasing extension of cos(mθ) from [0, π/m] to [0, π].
 */

export function assertIntegerMargin(m: number, who = 'm'): void {
  if (!Number.isInteger(m) || m < 1) {
    throw new RangeError(`${who} must be an integer ≥ 1 (the paper's multiplicative angular margin); got ${m}`);
  }
}

/** ψ(θ) for θ ∈ [0, π] and integer m ≥ 1. */
export function psi(theta: number, m: number): number {
  assertIntegerMargin(m);
  if (!(theta >= 0 && theta <= Math.PI)) {
    throw new RangeError(`psi: theta must lie in [0, π]; got ${theta}`);
  }
  // k = ⌊mθ/π⌋, except at θ = π where the last interval [(m−1)π/m, π] is closed.
  const k = Math.min(Math.floor((m * theta) / Math.PI), m - 1);
  return (k % 2 === 0 ? 1 : -1) * Math.cos(m * theta) - 2 * k;
}

/**
 * cos θ thresholds cos(jπ/m), j = 1…m−1, decreasing. The interval index k of a cosine c is the number
 * of thresholds strictly above c; computing k this way needs no arccos (the Caffe layer does the same
 * with sign switches), so ψ(c) stays a polynomial in c with an exact gradient.
 */
export function intervalThresholds(m: number): number[] {
  assertIntegerMargin(m);
  return Array.from({ length: m - 1 }, (_, i) => Math.cos(((i + 1) * Math.PI) / m));
}
