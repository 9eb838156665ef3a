/**
 * ROC analysis of verification scores (higher = more likely the same identity).
 *
 * Convention: at threshold t a pair is accepted as "same" iff score ≥ t (scikit-learn's `roc_curve`, which
 * opensphere uses). The curve has one point per distinct score, from the point (0, 0) at t = +∞ (accept
 * nothing) to (1, 1) at the lowest score (accept everything); no point is dropped. The curve between its
 * points is the straight polyline (what a randomised choice between the two thresholds achieves).
 */
import { toLabels } from './matrix';

export interface RocCurve {
  /** Decreasing thresholds; thresholds[0] = +Infinity. */
  readonly thresholds: Float64Array;
  /** True positive rate = TAR = accepted same pairs / same pairs, non-decreasing. */
  readonly tpr: Float64Array;
  /** False positive rate = FAR = accepted different pairs / different pairs, non-decreasing. */
  readonly fpr: Float64Array;
  /** Accepted same pairs at each threshold (tpr · positives, as an exact count). */
  readonly acceptedSame: Int32Array;
  /** Accepted different pairs at each threshold (fpr · negatives, as an exact count). */
  readonly acceptedDifferent: Int32Array;
  readonly positives: number;
  readonly negatives: number;
}

export interface TarAtFar {
  /** The requested FAR. */
  readonly far: number;
  /**
   * The best TAR of a real threshold whose FAR does not exceed `far`: max TPR over ROC points with
   * FPR ≤ far (no interpolation; conservative).
   */
  readonly tar: number;
  /** The threshold reaching `tar` (accept iff score ≥ threshold; +Infinity = accept nothing). */
  readonly threshold: number;
  /** The FAR actually reached at `threshold` (≤ far). */
  readonly achievedFar: number;
  /**
   * TPR of the ROC polyline at FPR = far, linearly interpolated between the last point with FPR ≤ far and
   * the next one (opensphere's `interp1d(fpr, tpr)(far)` up to the handling of vertical segments, where the
   * upper end is taken).
   */
  readonly tarInterpolated: number;
}

export interface VerificationMetrics {
  /** Area under the ROC polyline (trapezoids) = P(score_same > score_diff) + ½ P(tie). */
  readonly auc: number;
  /** Equal error rate: FPR where the ROC polyline crosses FPR = 1 − TPR (FAR = FRR), linearly interpolated. */
  readonly eer: number;
  readonly tarAtFar: TarAtFar[];
}

export const DEFAULT_FAR_TARGETS: readonly number[] = [1e-3, 1e-2];

export function rocCurve(scores: ArrayLike<number>, same: ArrayLike<boolean>): RocCurve {
  const where = 'rocCurve';
  const n = scores.length;
  const labels = toLabels(same, n, where);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`${where}: scores[${i}] is ${scores[i]} (scores must be finite)`);
    positives += labels[i];
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(`${where}: needs both same and different pairs, got ${positives} same and ${negatives} different`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const thresholds = [Infinity];
  const tpr = [0];
  const fpr = [0];
  const acceptedSame = [0];
  const acceptedDifferent = [0];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (labels[i]) tp++;
    else fp++;
    // Emit a point once the whole group of tied scores is accepted.
    if (k === n - 1 || scores[order[k + 1]] !== scores[i]) {
      thresholds.push(scores[i]);
      tpr.push(tp / positives);
      fpr.push(fp / negatives);
      acceptedSame.push(tp);
      acceptedDifferent.push(fp);
    }
  }
  return {
    thresholds: Float64Array.from(thresholds),
    tpr: Float64Array.from(tpr),
    fpr: Float64Array.from(fpr),
    acceptedSame: Int32Array.from(acceptedSame),
    acceptedDifferent: Int32Array.from(acceptedDifferent),
    positives,
    negatives,
  };
}

export function rocAuc(roc: RocCurve): number {
  let area = 0;
  for (let k = 1; k < roc.fpr.length; k++) area += ((roc.fpr[k] - roc.fpr[k - 1]) * (roc.tpr[k] + roc.tpr[k - 1])) / 2;
  return area;
}

/**
 * h = FPR + TPR − 1 grows along the curve from −1 at (0, 0) to 1 at (1, 1) while the line FPR = 1 − TPR
 * falls, so they meet exactly once; interpolate linearly on the segment where h changes sign.
 */
export function equalErrorRate(roc: RocCurve): number {
  const { fpr, tpr } = roc;
  for (let k = 1; k < fpr.length; k++) {
    const h1 = fpr[k] + tpr[k] - 1;
    if (h1 < 0) continue;
    const h0 = fpr[k - 1] + tpr[k - 1] - 1;
    const alpha = -h0 / (h1 - h0);
    return fpr[k - 1] + alpha * (fpr[k] - fpr[k - 1]);
  }
  throw new Error('equalErrorRate: the ROC curve does not end at (1, 1)');
}

export function tarAtFar(roc: RocCurve, far: number): TarAtFar {
  if (!(far > 0 && far < 1)) throw new Error(`tarAtFar: far must lie in (0, 1), got ${far}`);
  const { fpr, tpr, thresholds } = roc;
  // Points are sorted by FPR, and by TPR within equal FPR: the last point with FPR ≤ far has the best TPR.
  let a = 0;
  while (a + 1 < fpr.length && fpr[a + 1] <= far) a++;
  let tarInterpolated = tpr[a];
  if (fpr[a] < far) {
    const b = a + 1; // exists: the last point has FPR = 1 > far
    tarInterpolated = tpr[a] + ((far - fpr[a]) / (fpr[b] - fpr[a])) * (tpr[b] - tpr[a]);
  }
  return { far, tar: tpr[a], threshold: thresholds[a], achievedFar: fpr[a], tarInterpolated };
}

/** AUC, EER and TAR at each FAR target (default 1e-3 and 1e-2) of one set of pair scores. */
export function verificationMetrics(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  farTargets: readonly number[] = DEFAULT_FAR_TARGETS,
): VerificationMetrics {
  const roc = rocCurve(scores, same);
  return { auc: rocAuc(roc), eer: equalErrorRate(roc), tarAtFar: farTargets.map((far) => tarAtFar(roc, far)) };
}
