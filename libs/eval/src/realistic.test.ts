/**
 * LFW-sized consistency check: 6000 pairs in pairs.txt layout, 512-D features per image (1024-D fused),
 * planted identity signal, a shared offset that only mean subtraction removes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bestThresholdAccuracy, insightfaceKFold } from './protocols';
import { lfwTenFold, type TenFoldResult } from './ten-fold';
import {
  matlabStd,
  referenceBestThreshold,
  referenceEvaluationM,
  referenceInsightface,
} from './testing/reference';
import { concatRows, sumNormalisedRows, syntheticPairs, type SyntheticPairs } from './testing/synthetic';

describe('6000 pairs × 1024-D fused features', () => {
  let p: SyntheticPairs;
  let left: Float64Array[];
  let right: Float64Array[];
  let canonical: TenFoldResult;
  beforeAll(() => {
    p = syntheticPairs({ pairs: 6000, dim: 512, signal: 0.35, seed: 2017 });
    left = concatRows(p.leftOriginal, p.leftFlipped);
    right = concatRows(p.rightOriginal, p.rightFlipped);
    canonical = lfwTenFold({ left, right, same: p.same });
  });

  it('lfwTenFold equals the evaluation.m transcription fold by fold', () => {
    const ref = referenceEvaluationM(left, right, p.same);
    expect(canonical.foldAccuracies).toEqual(ref.ACCs);
    canonical.thresholds.forEach((t, i) => expect(t).toBeCloseTo(ref.thresholds[i], 12));
    canonical.scores.forEach((s, i) => expect(s).toBeCloseTo(ref.scores[i], 12));
    expect(canonical.std).toBeCloseTo(matlabStd(ref.ACCs), 14);
    // Not a degenerate case: the folds disagree and the threshold matters.
    expect(canonical.mean).toBeGreaterThan(0.85);
    expect(canonical.mean).toBeLessThan(0.99);
    expect(canonical.std).toBeGreaterThan(0);
  });

  it('the opensphere and insightface variants equal their transcriptions', () => {
    const e1 = sumNormalisedRows(p.leftOriginal, p.leftFlipped);
    const e2 = sumNormalisedRows(p.rightOriginal, p.rightFlipped);
    const cosines: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < e1.length; i++) {
      let c = 0;
      let d = 0;
      for (let j = 0; j < e1[i].length; j++) {
        c += e1[i][j] * e2[i][j];
        d += (e1[i][j] - e2[i][j]) ** 2;
      }
      cosines.push(c);
      distances.push(d);
    }
    const best = bestThresholdAccuracy(cosines, p.same);
    expect(best.accuracy).toBe(referenceBestThreshold(cosines, p.same));
    const insight = insightfaceKFold(distances, p.same);
    const ref = referenceInsightface(e1, e2, p.same);
    expect(insight.foldAccuracies).toEqual(ref.accuracy);
    expect(insight.thresholds).toEqual(ref.bestThresholds);
    // The shared offset hides the identity signal from the protocols that do not subtract a mean.
    expect(canonical.mean).toBeGreaterThan(best.accuracy);
  });
});
