/**
 * Every LFW protocol in one report, from the same per-image features: the canonical SphereFace protocol and
 * the named variants other codebases report, so that a number is never quoted without its protocol.
 */
import {
  checkPairShapes,
  concatColumns,
  sumAndNormalizeRows,
  toLabels,
  toMatrix64,
  type FeatureMatrix,
  rowDots,
  rowSquaredDistances,
} from './matrix';
import { DEFAULT_FAR_TARGETS, rocCurve, verificationMetrics, type VerificationMetrics } from './roc';
import { mean, std, type StdDefinition } from './stats';
import { tenFoldOnMatrices, type TenFoldResult } from './ten-fold';

export interface FlipPairFeatures {
  /** Row i: feature of pair i's first image (pairs.txt order). */
  readonly leftOriginal: FeatureMatrix;
  /** Row i: feature of the horizontally mirrored first image. */
  readonly leftFlipped: FeatureMatrix;
  readonly rightOriginal: FeatureMatrix;
  readonly rightFlipped: FeatureMatrix;
  /** same[i]: pair i shows one identity. */
  readonly same: ArrayLike<boolean>;
  /**
   * fold[i]: pair i's 0-based fold in the pairs file. The 10-fold protocols (canonical, no-flip) then test each pair
   * in its own fold, as evaluation.m does; without it they cut the pairs into 10 consecutive blocks of equal size,
   * which is the same thing only for the complete 6,000 pairs. sum-fusion-l2 is insightface's protocol and always
   * uses consecutive folds.
   */
  readonly fold?: ArrayLike<number>;
}

export type ProtocolName = 'canonical' | 'best-threshold' | 'sum-fusion-l2' | 'no-flip';

export const PROTOCOL_DESCRIPTIONS: Readonly<Record<ProtocolName, string>> = {
  canonical:
    'SphereFace evaluation.m: concat(original, flipped) features; 10 folds of consecutive pairs; per test fold ' +
    'subtract the mean of the other 9 folds (left and right), L2-normalise, cosine; threshold = mean of the ' +
    'grid values (−10000…10000)/10000 with the best accuracy on the 9 folds (same if score > t, different if ' +
    'score < t); mean of the 10 fold accuracies, sample std (N−1)',
  'best-threshold':
    'opensphere get_results: mean(original, flipped) features L2-normalised, cosine, no mean subtraction; ' +
    'accuracy of the single best threshold over all pairs (same if score ≥ t), chosen on the test pairs ' +
    'themselves: optimistic, no folds',
  'sum-fusion-l2':
    'insightface verification.py: (original + flipped) L2-normalised, squared L2 distance, no mean ' +
    'subtraction; 10 consecutive folds (sklearn KFold, unshuffled); per fold the first of the thresholds ' +
    '0, 0.01, …, 3.99 with the best accuracy on the other 9 folds (same if distance < t); mean of the 10 fold ' +
    'accuracies, population std (np.std)',
  'no-flip':
    'canonical protocol on the original image features only (no flipped feature): shows what flip fusion adds',
};

export interface ProtocolResult {
  readonly name: ProtocolName;
  readonly description: string;
  /** The headline accuracy (fraction): mean fold accuracy, or the single best-threshold accuracy. */
  readonly accuracy: number;
  /** Std of the fold accuracies in the protocol's own convention (null without folds). */
  readonly std: number | null;
  readonly stdDefinition: StdDefinition | null;
  /** Sample std / √folds (LFW's "û ± S_E"), whatever `stdDefinition` is; null without folds. */
  readonly standardError: number | null;
  readonly foldAccuracies: number[] | null;
  /** One threshold per fold, or the single threshold; in `thresholdUnit`. */
  readonly thresholds: number[];
  readonly thresholdUnit: 'cosine' | 'squared-l2-distance';
  /**
   * ROC metrics of this protocol's pair scores, all pairs pooled (for the 10-fold protocols each pair is
   * scored as it was evaluated, with its test fold's mean; distances enter as −distance).
   */
  readonly metrics: VerificationMetrics;
}

export interface LfwProtocolReport {
  readonly pairs: number;
  readonly samePairs: number;
  /** Dimension of one image's feature (the canonical fused feature has twice this). */
  readonly featureDimension: number;
  readonly protocols: ProtocolResult[];
}

export interface ProtocolOptions {
  /** FAR targets for TAR@FAR (default 1e-3 and 1e-2). */
  readonly farTargets?: readonly number[];
}

export function evaluateLfwProtocols(input: FlipPairFeatures, options: ProtocolOptions = {}): LfwProtocolReport {
  const where = 'evaluateLfwProtocols';
  const lo = toMatrix64(input.leftOriginal, `${where}: leftOriginal`);
  const lf = toMatrix64(input.leftFlipped, `${where}: leftFlipped`);
  const ro = toMatrix64(input.rightOriginal, `${where}: rightOriginal`);
  const rf = toMatrix64(input.rightFlipped, `${where}: rightFlipped`);
  checkPairShapes(lo, lf, where, ['leftOriginal', 'leftFlipped']);
  checkPairShapes(lo, ro, where, ['leftOriginal', 'rightOriginal']);
  checkPairShapes(lo, rf, where, ['leftOriginal', 'rightFlipped']);
  const same = toLabels(input.same, lo.rows, where);
  const sameBool = Array.from(same, (v) => v === 1);
  const farTargets = options.farTargets ?? DEFAULT_FAR_TARGETS;

  const fromTenFold = (name: ProtocolName, r: TenFoldResult): ProtocolResult => ({
    name,
    description: PROTOCOL_DESCRIPTIONS[name],
    accuracy: r.mean,
    std: r.std,
    stdDefinition: 'sample',
    standardError: r.standardError,
    foldAccuracies: r.foldAccuracies,
    thresholds: r.thresholds,
    thresholdUnit: 'cosine',
    metrics: verificationMetrics(r.scores, sameBool, farTargets),
  });

  const canonical = tenFoldOnMatrices(concatColumns(lo, lf), concatColumns(ro, rf), same, {}, `${where}: canonical`, input.fold);
  const noFlip = tenFoldOnMatrices(lo, ro, same, {}, `${where}: no-flip`, input.fold);

  const leftFused = sumAndNormalizeRows(lo, lf, `${where}: leftOriginal + leftFlipped`);
  const rightFused = sumAndNormalizeRows(ro, rf, `${where}: rightOriginal + rightFlipped`);
  const cosines = rowDots(leftFused, rightFused);
  const best = bestThresholdAccuracy(cosines, sameBool);
  const distances = rowSquaredDistances(leftFused, rightFused);
  const insight = insightfaceKFold(distances, sameBool);

  return {
    pairs: lo.rows,
    samePairs: sameBool.filter(Boolean).length,
    featureDimension: lo.cols,
    protocols: [
      fromTenFold('canonical', canonical),
      {
        name: 'best-threshold',
        description: PROTOCOL_DESCRIPTIONS['best-threshold'],
        accuracy: best.accuracy,
        std: null,
        stdDefinition: null,
        standardError: null,
        foldAccuracies: null,
        thresholds: [best.threshold],
        thresholdUnit: 'cosine',
        metrics: verificationMetrics(cosines, sameBool, farTargets),
      },
      {
        name: 'sum-fusion-l2',
        description: PROTOCOL_DESCRIPTIONS['sum-fusion-l2'],
        accuracy: insight.mean,
        std: insight.std,
        stdDefinition: 'population',
        standardError: std(insight.foldAccuracies, 'sample') / Math.sqrt(insight.foldAccuracies.length),
        foldAccuracies: insight.foldAccuracies,
        thresholds: insight.thresholds,
        thresholdUnit: 'squared-l2-distance',
        metrics: verificationMetrics(
          distances.map((x) => -x),
          sameBool,
          farTargets,
        ),
      },
      fromTenFold('no-flip', noFlip),
    ],
  };
}


/**
 * opensphere's ACC: the best accuracy of one threshold over all pairs, accepting "same" iff score ≥ t
 * (max over the ROC points of TP + TN). `threshold` is the highest score threshold reaching it
 * (+Infinity = reject everything).
 */
export function bestThresholdAccuracy(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
): { accuracy: number; threshold: number } {
  const roc = rocCurve(scores, same);
  let bestK = 0;
  let bestCorrect = -1;
  for (let k = 0; k < roc.thresholds.length; k++) {
    const correct = roc.acceptedSame[k] + roc.negatives - roc.acceptedDifferent[k];
    if (correct > bestCorrect) {
      bestCorrect = correct;
      bestK = k;
    }
  }
  return { accuracy: bestCorrect / scores.length, threshold: roc.thresholds[bestK] };
}

/** insightface's distance thresholds np.arange(0, 4, 0.01): i · 0.01 for i = 0…399. */
export const INSIGHTFACE_THRESHOLDS: readonly number[] = Array.from({ length: 400 }, (_, i) => i * 0.01);

/** sklearn KFold(n_splits, shuffle=False): consecutive blocks, the first n mod k one pair longer. */
export function kFoldBounds(n: number, folds: number): Array<[number, number]> {
  if (!Number.isInteger(folds) || folds < 2 || folds > n) {
    throw new Error(`kFoldBounds: cannot split ${n} pairs into ${folds} folds`);
  }
  const bounds: Array<[number, number]> = [];
  let start = 0;
  for (let f = 0; f < folds; f++) {
    const size = Math.floor(n / folds) + (f < n % folds ? 1 : 0);
    bounds.push([start, start + size]);
    start += size;
  }
  return bounds;
}

/**
 * insightface `calculate_roc` accuracy: per fold, the FIRST threshold (lowest distance) maximising the
 * training accuracy, where a pair is predicted "same" iff distance < t; accuracy on the held-out fold.
 */
export function insightfaceKFold(
  distances: ArrayLike<number>,
  same: ArrayLike<boolean>,
  folds = 10,
  thresholds: readonly number[] = INSIGHTFACE_THRESHOLDS,
): { foldAccuracies: number[]; mean: number; std: number; thresholds: number[] } {
  const n = distances.length;
  const labels = toLabels(same, n, 'insightfaceKFold');
  const foldAccuracies: number[] = [];
  const chosen: number[] = [];
  for (const [lo, hi] of kFoldBounds(n, folds)) {
    const sameD: number[] = [];
    const diffD: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i >= lo && i < hi) continue;
      (labels[i] ? sameD : diffD).push(distances[i]);
    }
    const s = Float64Array.from(sameD).sort();
    const df = Float64Array.from(diffD).sort();
    // Sweep increasing thresholds: counts of distances < t are monotone.
    let sameBelow = 0;
    let diffBelow = 0;
    let bestCorrect = -1;
    let bestT = thresholds[0];
    let previous = -Infinity;
    for (const t of thresholds) {
      if (!(t > previous)) throw new Error('insightfaceKFold: thresholds must be strictly increasing');
      previous = t;
      while (sameBelow < s.length && s[sameBelow] < t) sameBelow++;
      while (diffBelow < df.length && df[diffBelow] < t) diffBelow++;
      const correct = sameBelow + (df.length - diffBelow);
      if (correct > bestCorrect) {
        bestCorrect = correct;
        bestT = t;
      }
    }
    let correct = 0;
    for (let i = lo; i < hi; i++) if ((distances[i] < bestT) === (labels[i] === 1)) correct++;
    foldAccuracies.push(correct / (hi - lo));
    chosen.push(bestT);
  }
  return {
    foldAccuracies,
    mean: mean(foldAccuracies),
    std: std(foldAccuracies, 'population'),
    thresholds: chosen,
  };
}
