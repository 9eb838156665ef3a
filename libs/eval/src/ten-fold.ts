/**
 * The SphereFace LFW protocol exactly as the authors' `test/code/evaluation.m` computes it.
 *
 * Each pair's fold is read from `fold` (the pairs file's folds, LfwPair.fold, 0-based) when given; without it
 * the pairs are split into `folds` blocks of consecutive pairs, as evaluation.m's parseList numbers them
 * (fold = ⌈i / (n/folds)⌉, 1-based i; 600 pairs per fold for the 6000 LFW pairs). For the full pairs.txt both
 * agree; for a pair list with pairs left out (onBad 'skip') only the labels put every pair in its own fold,
 * so pass them. For each test fold: μ = mean of all left AND right features of the
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
  /**
   * fold[i]: 0-based fold of pair i, e.g. `pairs.map((p) => p.fold)`; integers 0…folds−1, every fold
   * non-empty, in any order. Without it, folds are consecutive blocks of equal size.
   */
  readonly fold?: ArrayLike<number>;
}

export interface TenFoldOptions {
  /** Number of folds (evaluation.m: 10). Without fold labels the pair count must be a multiple of it. */
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
  return tenFoldOnMatrices(left, right, same, options, where, input.fold);
}

/** The 0-based fold of every pair: the labels given, checked, or consecutive blocks of equal size. */
function foldAssignment(n: number, folds: number, labels: ArrayLike<number> | undefined, where: string): Int32Array {
  const out = new Int32Array(n);
  if (labels === undefined) {
    if (n === 0 || n % folds !== 0) {
      throw new Error(
        `${where}: ${n} pairs cannot be split into ${folds} folds of consecutive pairs of equal size ` +
          `(give each pair's fold, e.g. fold: pairs.map((p) => p.fold), to use the pairs file's folds)`,
      );
    }
    for (let i = 0; i < n; i++) out[i] = Math.floor(i / (n / folds));
    return out;
  }
  if (labels.length !== n) throw new Error(`${where}: fold has ${labels.length} labels but there are ${n} pairs`);
  const count = new Int32Array(folds);
  for (let i = 0; i < n; i++) {
    const f = labels[i];
    if (!Number.isInteger(f) || f < 0 || f >= folds) {
      throw new Error(`${where}: fold[${i}] is ${f}; fold labels must be integers 0…${folds - 1} (${folds} folds)`);
    }
    out[i] = f;
    count[f]++;
  }
  const empty = count.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`${where}: fold ${empty} (0-based) has no pairs`);
  return out;
}

/** lfwTenFold on already validated float64 inputs (used by the protocol report to avoid re-copying). */
export function tenFoldOnMatrices(
  left: Matrix64,
  right: Matrix64,
  same: Uint8Array,
  options: TenFoldOptions,
  where: string,
  foldLabels?: ArrayLike<number>,
): TenFoldResult {
  const folds = options.folds ?? EVALUATION_M_FOLDS;
  const steps = options.thresholdSteps ?? EVALUATION_M_THRESHOLD_STEPS;
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`${where}: folds must be an integer ≥ 2, got ${folds}`);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`${where}: thresholdSteps must be a positive integer, got ${steps}`);
  }
  const n = left.rows;
  const foldOf = foldAssignment(n, folds, foldLabels, where);
  const foldSize = new Int32Array(folds);
  for (let i = 0; i < n; i++) foldSize[foldOf[i]]++;
  const d = left.cols;

  // Per-fold sums of left+right features: the training mean of fold f is (total − sum_f) / count.
  const foldSums = Array.from({ length: folds }, () => new Float64Array(d));
  const total = new Float64Array(d);
  const ld = left.data;
  const rd = right.data;
  for (let i = 0, off = 0; i < n; i++, off += d) {
    const fs = foldSums[foldOf[i]];
    for (let j = 0; j < d; j++) fs[j] += ld[off + j] + rd[off + j];
  }
  for (const fs of foldSums) for (let j = 0; j < d; j++) total[j] += fs[j];

  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  const evaluated = new Float64Array(n);
  const mu = new Float64Array(d);
  const scores = new Float64Array(n);
  const isTrain = new Uint8Array(n);
  for (let f = 0; f < folds; f++) {
    const trainCount = 2 * (n - foldSize[f]);
    for (let j = 0; j < d; j++) mu[j] = (total[j] - foldSums[f][j]) / trainCount;
    centredCosines(left, right, mu, scores, `${where}: test fold ${f + 1}`);
    const test: number[] = [];
    for (let i = 0; i < n; i++) {
      isTrain[i] = foldOf[i] === f ? 0 : 1;
      if (foldOf[i] === f) test.push(i);
    }
    const t = gridThreshold(scores, same, isTrain, steps);
    thresholds.push(t);
    foldAccuracies.push(strictAccuracy(test.map((i) => scores[i]), test.map((i) => same[i]), t));
    for (const i of test) evaluated[i] = scores[i];
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
