/**
 * The SphereFace LFW protocol exactly as the authors' `test/code/evaluation.m` computes it.
 *
 * Pairs are split into `folds` blocks of consecutive pairs (fold = ⌈i / (n/folds)⌉, 1-based i; 600 pairs
 * per fold for the 6000 LFW pairs). For each test fold: μ = mean of all left AND right features of the
 * other folds; every feature has μ subtracted and is L2-normalised; score = dot product (cosine). The
 * threshold is searched over the grid k / steps, k = −steps…steps (20001 values for steps = 10000), on the
 * other folds, taking the MEAN of all grid values that reach the best training accuracy. A pair is
 * classified correctly when it is "same" with score > t or "different" with score < t (both strict, as in
 * `getAccuracy`: a score equal to t is an error either way).
 */
import { checkPairShapes, toLabels, toMatrix64, type FeatureMatrix, type Matrix64 } from './matrix';
import { mean, std } from './stats';

export interface PairFeatures {
  /** Row i: the (fused) feature of pair i's first image, in pairs.txt order. */
  readonly left: FeatureMatrix;
  /** Row i: the (fused) feature of pair i's second image. */
  readonly right: FeatureMatrix;
  /** same[i]: pair i shows one identity. */
  readonly same: ArrayLike<boolean>;
}

export interface TenFoldOptions {
  /** Number of consecutive folds (evaluation.m: 10). The pair count must be a multiple of it. */
  readonly folds?: number;
  /** Threshold grid k / thresholdSteps for k = −thresholdSteps…thresholdSteps (evaluation.m: 10000). */
  readonly thresholdSteps?: number;
}

export interface TenFoldResult {
  /** Fraction of correctly classified pairs in each held-out fold, fold 1 first. */
  readonly foldAccuracies: number[];
  /** Mean of foldAccuracies (what evaluation.m prints as AVE). */
  readonly mean: number;
  /** Sample standard deviation (N−1) of foldAccuracies, MATLAB's `std` default. */
  readonly std: number;
  /** std / √folds: the standard error S_E of LFW's "û ± S_E" results convention. */
  readonly standardError: number;
  /** The threshold chosen on the other folds for each test fold. */
  readonly thresholds: number[];
  /** Score of every pair as evaluated, i.e. computed with the μ of its own test fold's training folds. */
  readonly scores: Float64Array;
}

export const EVALUATION_M_FOLDS = 10;
export const EVALUATION_M_THRESHOLD_STEPS = 10000;

/** The canonical SphereFace LFW 10-fold protocol; see the module comment for the exact definition. */
export function lfwTenFold(input: PairFeatures, options: TenFoldOptions = {}): TenFoldResult {
  const where = 'lfwTenFold';
  const left = toMatrix64(input.left, `${where}: left`);
  const right = toMatrix64(input.right, `${where}: right`);
  checkPairShapes(left, right, where);
  const same = toLabels(input.same, left.rows, where);
  return tenFoldOnMatrices(left, right, same, options, where);
}

/** lfwTenFold on already validated float64 inputs (used by the protocol report to avoid re-copying). */
export function tenFoldOnMatrices(
  left: Matrix64,
  right: Matrix64,
  same: Uint8Array,
  options: TenFoldOptions,
  where: string,
): TenFoldResult {
  const folds = options.folds ?? EVALUATION_M_FOLDS;
  const steps = options.thresholdSteps ?? EVALUATION_M_THRESHOLD_STEPS;
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`${where}: folds must be an integer ≥ 2, got ${folds}`);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`${where}: thresholdSteps must be a positive integer, got ${steps}`);
  }
  const n = left.rows;
  if (n === 0 || n % folds !== 0) {
    throw new Error(`${where}: ${n} pairs cannot be split into ${folds} folds of consecutive pairs of equal size`);
  }
  const foldSize = n / folds;
  const d = left.cols;

  // Per-fold sums of left+right features: the training mean of fold f is (total − sum_f) / count.
  const foldSums = Array.from({ length: folds }, () => new Float64Array(d));
  const total = new Float64Array(d);
  const ld = left.data;
  const rd = right.data;
  for (let i = 0, off = 0; i < n; i++, off += d) {
    const fs = foldSums[Math.floor(i / foldSize)];
    for (let j = 0; j < d; j++) fs[j] += ld[off + j] + rd[off + j];
  }
  for (const fs of foldSums) for (let j = 0; j < d; j++) total[j] += fs[j];
  const trainCount = 2 * (n - foldSize);

  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  const evaluated = new Float64Array(n);
  const mu = new Float64Array(d);
  const scores = new Float64Array(n);
  const isTrain = new Uint8Array(n);
  for (let f = 0; f < folds; f++) {
    for (let j = 0; j < d; j++) mu[j] = (total[j] - foldSums[f][j]) / trainCount;
    centredCosines(left, right, mu, scores, `${where}: test fold ${f + 1}`);
    const lo = f * foldSize;
    const hi = lo + foldSize;
    isTrain.fill(1);
    isTrain.fill(0, lo, hi);
    const t = gridThreshold(scores, same, isTrain, steps);
    thresholds.push(t);
    foldAccuracies.push(strictAccuracy(scores.subarray(lo, hi), same.subarray(lo, hi), t));
    evaluated.set(scores.subarray(lo, hi), lo);
  }
  const sampleStd = std(foldAccuracies, 'sample');
  return {
    foldAccuracies,
    mean: mean(foldAccuracies),
    std: sampleStd,
    standardError: sampleStd / Math.sqrt(folds),
    thresholds,
    scores: evaluated,
  };
}

/** scores[i] = cos⟨left_i − μ, right_i − μ⟩ for every pair. */
function centredCosines(left: Matrix64, right: Matrix64, mu: Float64Array, scores: Float64Array, where: string): void {
  const d = left.cols;
  const ld = left.data;
  const rd = right.data;
  for (let i = 0, off = 0; i < left.rows; i++, off += d) {
    let dot = 0;
    let ll = 0;
    let rr = 0;
    for (let j = 0; j < d; j++) {
      const a = ld[off + j] - mu[j];
      const b = rd[off + j] - mu[j];
      dot += a * b;
      ll += a * a;
      rr += b * b;
    }
    if (ll === 0 || rr === 0) {
      throw new Error(`${where}: pair ${i + 1} has a ${ll === 0 ? 'left' : 'right'} feature equal to the training mean`);
    }
    scores[i] = dot / (Math.sqrt(ll) * Math.sqrt(rr));
  }
}

/**
 * evaluation.m's getThreshold: the mean of all grid values k/steps (k = −steps…steps) that maximise the
 * strict accuracy over the pairs with include[i] = 1. One sorted sweep instead of 20001 passes; correct
 * counts are compared as integers, which is what MATLAB's equality of count/length amounts to.
 */
export function gridThreshold(scores: Float64Array, same: Uint8Array, include: Uint8Array, steps: number): number {
  const sameScores: number[] = [];
  const diffScores: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (!include[i]) continue;
    (same[i] ? sameScores : diffScores).push(scores[i]);
  }
  const s = Float64Array.from(sameScores).sort();
  const df = Float64Array.from(diffScores).sort();
  let sameNotAbove = 0; // same scores ≤ t: misclassified
  let diffBelow = 0; // different scores < t: correct
  let best = -1;
  let sum = 0;
  let count = 0;
  for (let k = -steps; k <= steps; k++) {
    const t = k / steps;
    while (sameNotAbove < s.length && s[sameNotAbove] <= t) sameNotAbove++;
    while (diffBelow < df.length && df[diffBelow] < t) diffBelow++;
    const correct = s.length - sameNotAbove + diffBelow;
    if (correct > best) {
      best = correct;
      sum = t;
      count = 1;
    } else if (correct === best) {
      sum += t;
      count++;
    }
  }
  return sum / count;
}

/** evaluation.m's getAccuracy: (#same with score > t + #different with score < t) / #pairs. */
export function strictAccuracy(scores: ArrayLike<number>, same: ArrayLike<number>, t: number): number {
  let correct = 0;
  for (let i = 0; i < scores.length; i++) {
    if (same[i] ? scores[i] > t : scores[i] < t) correct++;
  }
  return correct / scores.length;
}
