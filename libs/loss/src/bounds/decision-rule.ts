/**
 * The A-Softmax decision rule on the unit circle, with nothing from the paper's formulas: a feature at angle φ
 * belongs to class i when m·d(φ, Wᵢ) < min_{j≠i} d(φ, Wⱼ) (d = geodesic angle). Plain numbers only, so it
 * loads without mathjs (notebooks and figures use it).
 */

export const TAU = 2 * Math.PI;

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
export function bisect(pred: (x: number) => boolean, lo: number, hi: number, what: string): number {
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
