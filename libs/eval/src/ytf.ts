/**
 * The YouTube Faces (YTF) video-pair protocol, 'ytf-video-mean': each video is represented by the mean of its frames'
 * features (each frame L2-normalised first, by default, as insightface's src/eval/ytf.py does), L2-normalised; a pair's
 * score is the cosine of its two video features; the 10 folds are the splits of splits.txt (the pairs of split k are
 * test fold k, whatever their order in the file); per test fold the threshold is chosen on the pairs of the other 9
 * splits exactly as the canonical LFW protocol chooses it (evaluation.m: the mean of all grid values k/10000,
 * k = −10000…10000, with the best training accuracy; same iff score > t, different iff score < t); the result is the
 * mean of the 10 fold accuracies ± their sample std (N−1). Unlike the canonical LFW protocol no training mean is
 * subtracted.
 *
 * The pairs may be `loadYtf(root).pairs` from `@sphereface/data/sources` (any objects with split, a, b, same).
 */
import { toLabels, toMatrix64, type FeatureMatrix } from './matrix';
import type { ProtocolResult } from './protocols';
import { DEFAULT_FAR_TARGETS, verificationMetrics } from './roc';
import { mean, std } from './stats';
import { EVALUATION_M_THRESHOLD_STEPS, gridThreshold, strictAccuracy } from './ten-fold';

export const YTF_PROTOCOL_NAME = 'ytf-video-mean';
export const YTF_FOLDS = 10;

export const YTF_PROTOCOL_DESCRIPTION =
  'YTF video pairs: video feature = L2-normalised mean of the L2-normalised frame features (insightface ytf.py; ' +
  'frameNormalization "none": mean of the raw frame features); cosine of the two video features, no mean ' +
  'subtraction; 10 folds = the splits of splits.txt (split k = test fold k); threshold = mean of the grid values ' +
  '(−10000…10000)/10000 with the best accuracy on the other 9 splits (same if score > t, different if score < t, ' +
  'as evaluation.m); mean of the 10 fold accuracies, sample std (N−1)';

/** One video pair: `loadYtf(...).pairs` entries fit. */
export interface YtfPairRef {
  /** 1…10: the split of splits.txt, i.e. the fold whose test set holds the pair. */
  readonly split: number;
  /** Video ids, keys of `frames` (YTF: `Name/video#`). */
  readonly a: string;
  readonly b: string;
  readonly same: boolean;
}

export interface YtfVideoFeatures {
  readonly pairs: ReadonlyArray<YtfPairRef>;
  /** Per video id, one row per frame (any number ≥ 1; e.g. the frames loadYtf kept). Extra videos are ignored. */
  readonly frames: ReadonlyMap<string, FeatureMatrix>;
}

export type YtfFrameNormalization = 'l2' | 'none';

export interface YtfProtocolOptions {
  /** 'l2' (default, insightface ytf.py): each frame feature L2-normalised before the mean. 'none': the raw mean. */
  readonly frameNormalization?: YtfFrameNormalization;
  /** Threshold grid k/thresholdSteps, k = −thresholdSteps…thresholdSteps (default evaluation.m's 10000). */
  readonly thresholdSteps?: number;
  /** FAR targets for TAR@FAR (default 1e-3 and 1e-2). */
  readonly farTargets?: readonly number[];
}

/** ProtocolResult's fields under the YTF protocol's own name, plus the pair and video counts. */
export interface YtfProtocolResult extends Omit<ProtocolResult, 'name' | 'std' | 'stdDefinition' | 'standardError' | 'foldAccuracies'> {
  readonly name: typeof YTF_PROTOCOL_NAME;
  /** Sample std (N−1) of the fold accuracies. */
  readonly std: number;
  readonly stdDefinition: 'sample';
  /** std / √10. */
  readonly standardError: number;
  /** Accuracy on split 1, …, split 10. */
  readonly foldAccuracies: number[];
  /** Number of pairs in split 1, …, split 10. */
  readonly foldPairs: number[];
  readonly pairs: number;
  readonly samePairs: number;
  /** Distinct videos in the pairs. */
  readonly videos: number;
  readonly featureDimension: number;
  readonly frameNormalization: YtfFrameNormalization;
  /** Cosine of every pair, in input order. */
  readonly scores: Float64Array;
}

/**
 * A video's feature: the mean of its frame rows (each L2-normalised first with 'l2'), L2-normalised. A frame that is
 * the zero vector (with 'l2'), no frames, or a zero mean is an error naming `where`.
 */
export function videoFeature(frames: FeatureMatrix, frameNormalization: YtfFrameNormalization = 'l2', where = 'videoFeature'): Float64Array {
  const m = toMatrix64(frames, where);
  if (m.rows === 0) throw new Error(`${where}: no frames`);
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const row = m.data.subarray(i * m.cols, (i + 1) * m.cols);
    let scale = 1;
    if (frameNormalization === 'l2') {
      let sq = 0;
      for (let j = 0; j < m.cols; j++) sq += row[j] * row[j];
      if (sq === 0) throw new Error(`${where}: frame ${i} is the zero vector, its direction is undefined`);
      scale = 1 / Math.sqrt(sq);
    }
    for (let j = 0; j < m.cols; j++) out[j] += row[j] * scale;
  }
  let sq = 0;
  for (let j = 0; j < m.cols; j++) sq += out[j] * out[j];
  const norm = Math.sqrt(sq);
  if (norm === 0) throw new Error(`${where}: the mean of the frame features is the zero vector`);
  for (let j = 0; j < m.cols; j++) out[j] /= norm;
  return out;
}

/** The YTF protocol; see the module comment for the exact definition. */
export function ytfVideoMean(input: YtfVideoFeatures, options: YtfProtocolOptions = {}): YtfProtocolResult {
  const where = 'ytfVideoMean';
  const frameNormalization = options.frameNormalization ?? 'l2';
  if (frameNormalization !== 'l2' && frameNormalization !== 'none') throw new Error(`${where}: frameNormalization must be 'l2' or 'none'`);
  const steps = options.thresholdSteps ?? EVALUATION_M_THRESHOLD_STEPS;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${where}: thresholdSteps must be a positive integer, got ${steps}`);
  const { pairs } = input;
  const n = pairs.length;
  if (n === 0) throw new Error(`${where}: no pairs`);

  const foldPairs = new Array<number>(YTF_FOLDS).fill(0);
  pairs.forEach((p, i) => {
    if (!Number.isInteger(p.split) || p.split < 1 || p.split > YTF_FOLDS) {
      throw new Error(`${where}: pair ${i} (${p.a}, ${p.b}) has split ${p.split}; splits are integers 1…${YTF_FOLDS}`);
    }
    foldPairs[p.split - 1]++;
  });
  const empty = foldPairs.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`${where}: split ${empty + 1} has no pairs (the protocol needs all ${YTF_FOLDS})`);
  const same = toLabels(
    pairs.map((p) => p.same),
    n,
    where,
  );

  const features = new Map<string, Float64Array>();
  let dim = -1;
  const feature = (id: string, i: number): Float64Array => {
    let f = features.get(id);
    if (f) return f;
    const frames = input.frames.get(id);
    if (frames === undefined) throw new Error(`${where}: no frame features for video ${id} (pair ${i}, split ${pairs[i].split})`);
    f = videoFeature(frames, frameNormalization, `${where}: video ${id}`);
    if (dim < 0) dim = f.length;
    else if (f.length !== dim) throw new Error(`${where}: video ${id} has features of dimension ${f.length}, other videos ${dim}`);
    features.set(id, f);
    return f;
  };
  const scores = new Float64Array(n);
  pairs.forEach((p, i) => {
    const fa = feature(p.a, i);
    const fb = feature(p.b, i);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += fa[j] * fb[j];
    scores[i] = dot;
  });

  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  const train = new Uint8Array(n);
  for (let split = 1; split <= YTF_FOLDS; split++) {
    const test: number[] = [];
    for (let i = 0; i < n; i++) {
      train[i] = pairs[i].split === split ? 0 : 1;
      if (!train[i]) test.push(i);
    }
    const t = gridThreshold(scores, same, train, steps);
    thresholds.push(t);
    foldAccuracies.push(strictAccuracy(test.map((i) => scores[i]), test.map((i) => same[i]), t));
  }
  const sampleStd = std(foldAccuracies, 'sample');
  const sameBool = Array.from(same, (v) => v === 1);
  return {
    name: YTF_PROTOCOL_NAME,
    description: YTF_PROTOCOL_DESCRIPTION,
    accuracy: mean(foldAccuracies),
    std: sampleStd,
    stdDefinition: 'sample',
    standardError: sampleStd / Math.sqrt(YTF_FOLDS),
    foldAccuracies,
    foldPairs,
    thresholds,
    thresholdUnit: 'cosine',
    metrics: verificationMetrics(scores, sameBool, options.farTargets ?? DEFAULT_FAR_TARGETS),
    pairs: n,
    samePairs: sameBool.filter(Boolean).length,
    videos: features.size,
    featureDimension: dim,
    frameNormalization,
    scores,
  };
}
