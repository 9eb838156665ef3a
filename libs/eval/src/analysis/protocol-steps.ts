/**
 * Why do two LFW protocols disagree on the same features? This module takes the inputs of
 * `evaluateLfwProtocols` (per-image features of each pair, original and mirrored) and reports:
 *
 * - the feature norms (per image, and of the fused features);
 * - the size of the mean vector against the spread of the features around it, overall and for each test
 *   fold's training mean (the μ the canonical protocol subtracts);
 * - the 10-fold accuracy with each step of the protocol switched independently (flip fusion, mean
 *   subtraction, L2 normalisation, threshold selection), all on the same folds, so that the step that costs
 *   accuracy can be read off.
 *
 * It is built on the protocol code itself: every cell with mean subtraction is `tenFoldOnMatrices` (the
 * canonical primitive) on the fused features; the cells without it use the same threshold search
 * (`gridThreshold`, `strictAccuracy`) on uncentred scores; the threshold chosen on all pairs is
 * `bestThresholdAccuracy` (opensphere's rule). The canonical, no-flip and best-threshold protocols are three
 * of the cells, and reproduce `evaluateLfwProtocols` exactly.
 */
import { checkPairShapes, concatColumns, rowDots, rowSquaredDistances, sumAndNormalizeRows, toLabels, toMatrix64, type Matrix64 } from '../matrix';
import { bestThresholdAccuracy, type FlipPairFeatures, type ProtocolName } from '../protocols';
import { equalErrorRate, rocAuc, rocCurve } from '../roc';
import { mean } from '../stats';
import {
  EVALUATION_M_FOLDS,
  EVALUATION_M_THRESHOLD_STEPS,
  gridThreshold,
  strictAccuracy,
  tenFoldOnMatrices,
  type TenFoldOptions,
} from '../ten-fold';

/** How a pair image's original (o) and mirrored (f) features become one feature. */
export type StepFusion = 'concat' | 'sum' | 'original';
/**
 * What is subtracted before scoring: `none`; `mean` = the mean of the other folds' fused features, as
 * evaluation.m does; `unit-mean` = every image's feature (original and mirrored) is L2-normalised before the
 * fusion, and the other folds' mean of those fused features is subtracted (a diagnostic: it centres directions
 * without letting the images' norms in).
 */
export type StepCentring = 'none' | 'mean' | 'unit-mean';
/**
 * `l2`: the (centred) features are L2-normalised and the score is their cosine (= 1 − ½‖a − b‖²). `none`: the
 * score is −‖a − b‖² of the features as they are. Distances do not change under a common translation, so
 * without L2 normalisation every centring gives the same scores: those cells exist only with centring `none`.
 */
export type StepNormalisation = 'l2' | 'none';
/**
 * `other-folds`: evaluation.m's rule: per test fold, the mean of the grid thresholds k/steps with the best
 * accuracy on the other folds, applied with strict inequalities. `all-pairs`: one threshold, the best over all
 * pairs (the test pairs included; opensphere's rule, optimistic): the accuracy the scores allow at best.
 */
export type StepThreshold = 'other-folds' | 'all-pairs';

export interface ProtocolStepCell {
  readonly fusion: StepFusion;
  readonly centring: StepCentring;
  readonly normalisation: StepNormalisation;
  readonly threshold: StepThreshold;
  /** other-folds: mean of the fold accuracies; all-pairs: the accuracy over all pairs at the best threshold. */
  readonly accuracy: number;
  /** Accuracy of each fold's pairs (other-folds: at its own threshold; all-pairs: at the single threshold). */
  readonly foldAccuracies: number[];
  /** One threshold per fold (other-folds) or the single one (all-pairs), on the score scale described below. */
  readonly thresholds: number[];
  /**
   * AUC and EER of all pairs' scores pooled, each pair scored as it was evaluated (with its own test fold's
   * mean where one is subtracted). The same for both threshold rules: they share the scores.
   */
  readonly auc: number;
  readonly eer: number;
  /** The named protocol of `evaluateLfwProtocols` that this cell is, exactly (same accuracy and folds). */
  readonly protocol: ProtocolName | null;
}

export interface NormStatistics {
  readonly mean: number;
  /** Population standard deviation. */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  /** sd / mean. */
  readonly cv: number;
}

export interface MeanAgainstSpread {
  /** ‖μ‖. */
  readonly meanNorm: number;
  /** RMS distance of the features from μ: √(mean ‖x − μ‖²). */
  readonly spread: number;
  /** ‖μ‖ / spread. */
  readonly ratio: number;
  /** Mean of cos⟨x, μ⟩ over the features. */
  readonly meanCosine: number;
}

export interface MeanStatistics extends MeanAgainstSpread {
  /**
   * RMS of the component of x − μ along μ/‖μ‖: the part of the spread that mean subtraction turns into the
   * direction the centred features share.
   */
  readonly spreadAlongMean: number;
  /** spreadAlongMean² / spread²: the share of the variance along μ (1/dimension for isotropic features). */
  readonly varianceShareAlongMean: number;
  /**
   * Correlation over the features between ‖x‖ and the component of x − μ along μ/‖μ‖: near 1 when that
   * component is the features' norm varying (which a cosine-trained loss leaves free).
   */
  readonly normCorrelationAlongMean: number;
  /** ‖mean of x/‖x‖‖: the mean resultant length of the directions (1 = all features point the same way). */
  readonly meanResultantLength: number;
  /**
   * For each test fold: μ_f = the mean of the other folds' features (the one the canonical protocol subtracts),
   * against the spread of all features around it, and ‖μ_f − μ‖ (how far it is from the overall mean).
   */
  readonly perFold: Array<MeanAgainstSpread & { readonly fold: number; readonly distanceFromOverallMean: number }>;
}

export interface ProtocolStepAnalysis {
  readonly pairs: number;
  readonly samePairs: number;
  /** One image's feature dimension (the concatenated feature has twice this). */
  readonly featureDimension: number;
  readonly folds: number;
  /**
   * ‖x‖ over the left and right features of every pair (an image in several pairs counts once per pair, as in
   * the protocol's means): per image (original, flipped) and fused (concat [o; f], sum o + f).
   */
  readonly norms: Readonly<Record<'original' | 'flipped' | 'concat' | 'sum', NormStatistics>>;
  /** The raw (not normalised) fused features' mean against their spread, per fusion. */
  readonly mean: Readonly<Record<StepFusion, MeanStatistics>>;
  /**
   * fusion × centring × normalisation × threshold: 3 × 3 × 1 × 2 cells with L2 normalisation, and 3 × 1 × 1 × 2
   * without it (centring does not change distances), in that order.
   */
  readonly cells: ProtocolStepCell[];
}

export const STEP_FUSIONS: readonly StepFusion[] = ['concat', 'sum', 'original'];
export const STEP_CENTRINGS: readonly StepCentring[] = ['mean', 'unit-mean', 'none'];
export const STEP_THRESHOLDS: readonly StepThreshold[] = ['other-folds', 'all-pairs'];

/** The named protocols among the cells (exact reproductions). */
const NAMED_CELLS: ReadonlyArray<[ProtocolName, StepFusion, StepCentring, StepNormalisation, StepThreshold]> = [
  ['canonical', 'concat', 'mean', 'l2', 'other-folds'],
  ['no-flip', 'original', 'mean', 'l2', 'other-folds'],
  ['best-threshold', 'sum', 'none', 'l2', 'all-pairs'],
];

export function analyseProtocolSteps(input: FlipPairFeatures, options: TenFoldOptions = {}): ProtocolStepAnalysis {
  const where = 'analyseProtocolSteps';
  const lo = toMatrix64(input.leftOriginal, `${where}: leftOriginal`);
  const lf = toMatrix64(input.leftFlipped, `${where}: leftFlipped`);
  const ro = toMatrix64(input.rightOriginal, `${where}: rightOriginal`);
  const rf = toMatrix64(input.rightFlipped, `${where}: rightFlipped`);
  checkPairShapes(lo, lf, where, ['leftOriginal', 'leftFlipped']);
  checkPairShapes(lo, ro, where, ['leftOriginal', 'rightOriginal']);
  checkPairShapes(lo, rf, where, ['leftOriginal', 'rightFlipped']);
  const same = toLabels(input.same, lo.rows, where);
  const sameBool = Array.from(same, (v) => v === 1);
  const folds = options.folds ?? EVALUATION_M_FOLDS;
  const steps = options.thresholdSteps ?? EVALUATION_M_THRESHOLD_STEPS;

  const fused: Record<StepFusion, [Matrix64, Matrix64]> = {
    concat: [concatColumns(lo, lf), concatColumns(ro, rf)],
    sum: [addRows(lo, lf), addRows(ro, rf)],
    original: [lo, ro],
  };

  // The canonical cell first: tenFoldOnMatrices validates the options and the fold labels (the same errors as
  // lfwTenFold), so the fold assignment below only has to restate them.
  const centred = new Map<string, ReturnType<typeof tenFoldOnMatrices>>();
  // The L2-normalised fused features (for the sum, exactly as the best-threshold protocol computes them), and the
  // fusion of the L2-normalised image features (every image's norm removed before anything else).
  const unit: Record<StepFusion, [Matrix64, Matrix64]> = {
    concat: [unitRows(fused.concat[0], `${where}: concat left`), unitRows(fused.concat[1], `${where}: concat right`)],
    sum: [sumAndNormalizeRows(lo, lf, `${where}: leftOriginal + leftFlipped`), sumAndNormalizeRows(ro, rf, `${where}: rightOriginal + rightFlipped`)],
    original: [unitRows(lo, `${where}: leftOriginal`), unitRows(ro, `${where}: rightOriginal`)],
  };
  const [ulo, ulf, uro, urf] = [unitRows(lo, `${where}: leftOriginal`), unitRows(lf, `${where}: leftFlipped`), unitRows(ro, `${where}: rightOriginal`), unitRows(rf, `${where}: rightFlipped`)];
  const fusedUnits: Record<StepFusion, [Matrix64, Matrix64]> = {
    concat: [concatColumns(ulo, ulf), concatColumns(uro, urf)],
    sum: [addRows(ulo, ulf), addRows(uro, urf)],
    original: [ulo, uro],
  };
  for (const fusion of STEP_FUSIONS) {
    const [l, r] = fused[fusion];
    centred.set(`${fusion}/mean`, tenFoldOnMatrices(l, r, same, options, `${where}: ${fusion}`, input.fold));
    const [ul, ur] = fusedUnits[fusion];
    centred.set(`${fusion}/unit-mean`, tenFoldOnMatrices(ul, ur, same, options, `${where}: ${fusion} (unit)`, input.fold));
  }
  const foldOf = input.fold ? Int32Array.from(input.fold) : consecutiveFolds(lo.rows, folds);

  const cells: ProtocolStepCell[] = [];
  const push = (
    fusion: StepFusion,
    centring: StepCentring,
    normalisation: StepNormalisation,
    scores: Float64Array,
    otherFolds: { foldAccuracies: number[]; thresholds: number[] },
  ) => {
    const roc = rocCurve(scores, sameBool);
    const auc = rocAuc(roc);
    const eer = equalErrorRate(roc);
    const named = (threshold: StepThreshold) =>
      NAMED_CELLS.find(([, f, c, n, t]) => f === fusion && c === centring && n === normalisation && t === threshold)?.[0] ?? null;
    cells.push({
      fusion,
      centring,
      normalisation,
      threshold: 'other-folds',
      accuracy: mean(otherFolds.foldAccuracies),
      foldAccuracies: otherFolds.foldAccuracies,
      thresholds: otherFolds.thresholds,
      auc,
      eer,
      protocol: named('other-folds'),
    });
    const best = bestThresholdAccuracy(scores, sameBool);
    cells.push({
      fusion,
      centring,
      normalisation,
      threshold: 'all-pairs',
      accuracy: best.accuracy,
      foldAccuracies: foldAccuraciesAt(scores, same, foldOf, folds, best.threshold),
      thresholds: [best.threshold],
      auc,
      eer,
      protocol: named('all-pairs'),
    });
  };

  for (const fusion of STEP_FUSIONS) {
    for (const centring of STEP_CENTRINGS) {
      if (centring === 'none') {
        const cos = rowDots(...unit[fusion]);
        push(fusion, 'none', 'l2', cos, gridOnOtherFolds(() => cos, same, foldOf, folds, steps));
      } else {
        const r10 = centred.get(`${fusion}/${centring}`)!;
        push(fusion, centring, 'l2', r10.scores, { foldAccuracies: r10.foldAccuracies, thresholds: r10.thresholds });
      }
    }
  }
  for (const fusion of STEP_FUSIONS) {
    const [l, r] = fused[fusion];
    const d2 = rowSquaredDistances(l, r);
    // The grid k/steps is evaluation.m's, for scores in [−1, 1]: the distances of each fold's training pairs are
    // mapped affinely onto it (1 − 2d²/max d²; a monotone map, so only the grid's resolution depends on it).
    const perFold = (f: number) => {
      let max = 0;
      for (let i = 0; i < d2.length; i++) if (foldOf[i] !== f && d2[i] > max) max = d2[i];
      const scale = max > 0 ? max : 1;
      return d2.map((d) => 1 - (2 * d) / scale);
    };
    push(
      fusion,
      'none',
      'none',
      d2.map((d) => -d),
      gridOnOtherFolds(perFold, same, foldOf, folds, steps),
    );
  }

  const normsOf = (a: Matrix64, b: Matrix64) => normStatistics([...rowNorms(a), ...rowNorms(b)]);
  return {
    pairs: lo.rows,
    samePairs: sameBool.filter(Boolean).length,
    featureDimension: lo.cols,
    folds,
    norms: {
      original: normsOf(lo, ro),
      flipped: normsOf(lf, rf),
      concat: normsOf(...fused.concat),
      sum: normsOf(...fused.sum),
    },
    mean: {
      concat: meanStatistics(...fused.concat, foldOf, folds),
      sum: meanStatistics(...fused.sum, foldOf, folds),
      original: meanStatistics(...fused.original, foldOf, folds),
    },
    cells,
  };
}

/** The cell of an analysis with these steps (throws when there is none, e.g. centring without L2). */
export function protocolStepCell(
  analysis: ProtocolStepAnalysis,
  fusion: StepFusion,
  centring: StepCentring,
  normalisation: StepNormalisation,
  threshold: StepThreshold,
): ProtocolStepCell {
  const cell = analysis.cells.find((c) => c.fusion === fusion && c.centring === centring && c.normalisation === normalisation && c.threshold === threshold);
  if (!cell) {
    throw new Error(
      `protocolStepCell: no cell ${fusion}/${centring}/${normalisation}/${threshold}` +
        (normalisation === 'none' && centring !== 'none' ? ' (without L2 normalisation centring does not change the distances; use centring none)' : ''),
    );
  }
  return cell;
}

function consecutiveFolds(n: number, folds: number): Int32Array {
  // n is a multiple of folds: tenFoldOnMatrices has checked it.
  return Int32Array.from({ length: n }, (_, i) => Math.floor(i / (n / folds)));
}

/** evaluation.m's threshold rule per test fold, on scores that may depend on the fold (scoresFor(f)). */
function gridOnOtherFolds(
  scoresFor: (fold: number) => Float64Array,
  same: Uint8Array,
  foldOf: Int32Array,
  folds: number,
  steps: number,
): { foldAccuracies: number[]; thresholds: number[] } {
  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  const isTrain = new Uint8Array(foldOf.length);
  for (let f = 0; f < folds; f++) {
    const scores = scoresFor(f);
    const test: number[] = [];
    for (let i = 0; i < foldOf.length; i++) {
      isTrain[i] = foldOf[i] === f ? 0 : 1;
      if (foldOf[i] === f) test.push(i);
    }
    const t = gridThreshold(scores, same, isTrain, steps);
    thresholds.push(t);
    foldAccuracies.push(
      strictAccuracy(
        test.map((i) => scores[i]),
        test.map((i) => same[i]),
        t,
      ),
    );
  }
  return { foldAccuracies, thresholds };
}

/** Accuracy of each fold's pairs at one threshold, with bestThresholdAccuracy's rule (same iff score ≥ t). */
function foldAccuraciesAt(scores: Float64Array, same: Uint8Array, foldOf: Int32Array, folds: number, t: number): number[] {
  const correct = new Float64Array(folds);
  const count = new Float64Array(folds);
  for (let i = 0; i < scores.length; i++) {
    count[foldOf[i]]++;
    if ((scores[i] >= t) === (same[i] === 1)) correct[foldOf[i]]++;
  }
  return Array.from(correct, (c, f) => c / count[f]);
}

function addRows(a: Matrix64, b: Matrix64): Matrix64 {
  const data = new Float64Array(a.data.length);
  for (let k = 0; k < data.length; k++) data[k] = a.data[k] + b.data[k];
  return { rows: a.rows, cols: a.cols, data };
}

function rowNorms(m: Matrix64): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += m.data[i * m.cols + j] ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** Row-wise x / ‖x‖, computed as sumAndNormalizeRows computes it (so the sum fusion's rows are identical). */
function unitRows(m: Matrix64, where: string): Matrix64 {
  const { rows, cols } = m;
  const data = new Float64Array(m.data.length);
  for (let i = 0; i < rows; i++) {
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const v = m.data[i * cols + j];
      data[i * cols + j] = v;
      sq += v * v;
    }
    if (sq === 0) throw new Error(`${where}: row ${i} is the zero vector, its direction is undefined`);
    const norm = Math.sqrt(sq);
    for (let j = 0; j < cols; j++) data[i * cols + j] /= norm;
  }
  return { rows, cols, data };
}


function normStatistics(values: number[]): NormStatistics {
  const m = mean(values);
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    s += (v - m) ** 2;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const sd = Math.sqrt(s / values.length);
  return { mean: m, sd, min, max, cv: sd / m };
}

/** Statistics of the rows of a and b (all 2n features) around a given centre. */
function aroundCentre(a: Matrix64, b: Matrix64, centre: Float64Array): { stats: MeanAgainstSpread; along: Float64Array } {
  const d = a.cols;
  const centreNorm = Math.sqrt(centre.reduce((s, v) => s + v * v, 0));
  let sq = 0;
  let cosSum = 0;
  const along = new Float64Array(2 * a.rows);
  let k = 0;
  for (const m of [a, b]) {
    for (let i = 0; i < m.rows; i++, k++) {
      let dist = 0;
      let dot = 0;
      let xx = 0;
      for (let j = 0; j < d; j++) {
        const x = m.data[i * d + j];
        dist += (x - centre[j]) ** 2;
        dot += x * centre[j];
        xx += x * x;
      }
      sq += dist;
      cosSum += xx > 0 && centreNorm > 0 ? dot / (Math.sqrt(xx) * centreNorm) : 0;
      // (x − μ)·μ̂ = (x·μ − ‖μ‖²)/‖μ‖
      along[k] = centreNorm > 0 ? (dot - centreNorm * centreNorm) / centreNorm : 0;
    }
  }
  const spread = Math.sqrt(sq / k);
  return { stats: { meanNorm: centreNorm, spread, ratio: centreNorm / spread, meanCosine: cosSum / k }, along };
}

function meanStatistics(a: Matrix64, b: Matrix64, foldOf: Int32Array, folds: number): MeanStatistics {
  const d = a.cols;
  const total = new Float64Array(d);
  const foldSums = Array.from({ length: folds }, () => new Float64Array(d));
  const foldCount = new Float64Array(folds);
  const unitSum = new Float64Array(d);
  for (const m of [a, b]) {
    const norms = rowNorms(m);
    for (let i = 0; i < m.rows; i++) {
      const fs = foldSums[foldOf[i]];
      foldCount[foldOf[i]]++;
      for (let j = 0; j < d; j++) {
        const x = m.data[i * d + j];
        fs[j] += x;
        if (norms[i] > 0) unitSum[j] += x / norms[i];
      }
    }
  }
  for (const fs of foldSums) for (let j = 0; j < d; j++) total[j] += fs[j];
  const n = 2 * a.rows;
  const mu = total.map((v) => v / n);
  const { stats, along } = aroundCentre(a, b, mu);
  const norms = [...rowNorms(a), ...rowNorms(b)];
  const alongRms = Math.sqrt(along.reduce((s, v) => s + v * v, 0) / n);
  const perFold = Array.from({ length: folds }, (_, f) => {
    const count = n - foldCount[f];
    const muF = total.map((v, j) => (v - foldSums[f][j]) / count);
    const distanceFromOverallMean = Math.sqrt(muF.reduce((s, v, j) => s + (v - mu[j]) ** 2, 0));
    return { fold: f, ...aroundCentre(a, b, muF).stats, distanceFromOverallMean };
  });
  return {
    ...stats,
    spreadAlongMean: alongRms,
    varianceShareAlongMean: (alongRms * alongRms) / (stats.spread * stats.spread),
    normCorrelationAlongMean: correlation(norms, Array.from(along)),
    meanResultantLength: Math.sqrt(unitSum.reduce((s, v) => s + v * v, 0)) / n,
    perFold,
  };
}

function correlation(x: number[], y: number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
