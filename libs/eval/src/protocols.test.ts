import { describe, expect, it } from 'vitest';
import { bestThresholdAccuracy, evaluateLfwProtocols, insightfaceKFold, INSIGHTFACE_THRESHOLDS, kFoldBounds } from './protocols';
import {
  matlabStd,
  referenceAuc,
  referenceBestThreshold,
  referenceEer,
  referenceEvaluationM,
  referenceInsightface,
  referenceTarAtFar,
} from './testing/reference';
import { mulberry32 } from '@sphereface/common';
import { concatRows, sumNormalisedRows, syntheticPairs } from './testing/synthetic';

describe('best-threshold (opensphere)', () => {
  it('hand case: the best single threshold, the highest one on ties', () => {
    // Accept ≥ 0.9 → 1 same + 2 different rejected = 3/4; ≥ 0.7 → 2 same + 0.1 rejected = 3/4.
    expect(bestThresholdAccuracy([0.9, 0.8, 0.7, 0.1], [true, false, true, false])).toEqual({ accuracy: 0.75, threshold: 0.9 });
    // Everything rejected is a candidate too (+∞): all-different labels give 100% there.
    expect(bestThresholdAccuracy([0.9, 0.1, 0.2], [true, false, false]).accuracy).toBe(1);
  });
  it('matches trying every score as the threshold', () => {
    const rnd = mulberry32(21);
    const same = Array.from({ length: 800 }, () => rnd() < 0.5);
    const scores = same.map((s) => Math.round(((s ? 0.3 : 0) + rnd()) * 40) / 40);
    expect(bestThresholdAccuracy(scores, same).accuracy).toBe(referenceBestThreshold(scores, same));
  });
});

describe('sum-fusion-l2 (insightface)', () => {
  it('sklearn KFold sizes: the first n mod k folds are one longer', () => {
    const b = kFoldBounds(605, 10);
    expect(b.map(([lo, hi]) => hi - lo)).toEqual([61, 61, 61, 61, 61, 60, 60, 60, 60, 60]);
    expect(b[0][0]).toBe(0);
    expect(b[9][1]).toBe(605);
    expect(() => kFoldBounds(5, 10)).toThrow(/cannot split 5 pairs into 10 folds/);
  });
  it('thresholds are np.arange(0, 4, 0.01)', () => {
    expect(INSIGHTFACE_THRESHOLDS.length).toBe(400);
    expect(INSIGHTFACE_THRESHOLDS[0]).toBe(0);
    expect(INSIGHTFACE_THRESHOLDS[399]).toBe(3.99);
  });
  it('hand case: the first (lowest) threshold with the best accuracy, "same" iff distance < t', () => {
    // Same distances 0.5, different 3.0: every t in (0.5, 3.0] is perfect; np.argmax takes 0.51.
    const distances = Array.from({ length: 20 }, (_, i) => (i % 2 ? 3.0 : 0.5));
    const r = insightfaceKFold(
      distances,
      distances.map((d) => d === 0.5),
    );
    expect(r.thresholds).toEqual(Array(10).fill(0.51));
    expect(r.foldAccuracies).toEqual(Array(10).fill(1));
    expect(r.std).toBe(0);
  });
  it('population std, as np.std', () => {
    // Folds of 2 pairs; fold accuracies alternate 1 and 0.5 → population std 0.25 (sample would be 0.2635).
    const distances: number[] = [];
    const same: boolean[] = [];
    for (let f = 0; f < 10; f++) {
      distances.push(0.5, f % 2 ? 0.4 : 3); // odd folds: a different pair closer than any same pair
      same.push(true, false);
    }
    const r = insightfaceKFold(distances, same);
    expect(r.foldAccuracies).toEqual(Array.from({ length: 10 }, (_, f) => (f % 2 ? 0.5 : 1)));
    expect(r.std).toBeCloseTo(0.25, 15);
  });
  it('matches the transcription of calculate_roc, including uneven folds', () => {
    const p = syntheticPairs({ pairs: 610, dim: 16, signal: 0.5, seed: 4 });
    const e1 = sumNormalisedRows(p.leftOriginal, p.leftFlipped).slice(0, 605);
    const e2 = sumNormalisedRows(p.rightOriginal, p.rightFlipped).slice(0, 605);
    const same = p.same.slice(0, 605);
    const distances = e1.map((row, i) => row.reduce((s, v, j) => s + (v - e2[i][j]) ** 2, 0));
    const r = insightfaceKFold(distances, same);
    const ref = referenceInsightface(e1, e2, same);
    expect(r.foldAccuracies).toEqual(ref.accuracy);
    expect(r.thresholds).toEqual(ref.bestThresholds);
  });
});

describe('evaluateLfwProtocols', () => {
  const p = syntheticPairs({ pairs: 600, dim: 32, signal: 0.45, seed: 9 });
  const report = evaluateLfwProtocols(p);
  const byName = (name: string) => {
    const r = report.protocols.find((x) => x.name === name);
    if (!r) throw new Error(`protocol ${name} missing from the report`);
    return r;
  };

  it('reports every protocol by name, with a description', () => {
    expect(report.protocols.map((x) => x.name)).toEqual(['canonical', 'best-threshold', 'sum-fusion-l2', 'no-flip']);
    for (const x of report.protocols) expect(x.description.length).toBeGreaterThan(40);
    expect(report.pairs).toBe(600);
    expect(report.samePairs).toBe(300);
    expect(report.featureDimension).toBe(32);
  });
  it('canonical and no-flip match the transcription of evaluation.m, on the concatenated features and on the originals', () => {
    // The reference is the literal evaluation.m loop (testing/reference.ts), not the ten-fold code the protocols call.
    const canonical = referenceEvaluationM(concatRows(p.leftOriginal, p.leftFlipped), concatRows(p.rightOriginal, p.rightFlipped), p.same);
    const noFlip = referenceEvaluationM(p.leftOriginal, p.rightOriginal, p.same);
    for (const [r, want] of [
      [byName('canonical'), canonical],
      [byName('no-flip'), noFlip],
    ] as const) {
      expect(r.foldAccuracies).toEqual(want.ACCs);
      expect(r.accuracy).toBeCloseTo(want.ACCs.reduce((s, a) => s + a, 0) / want.ACCs.length, 15);
      expect(r.std).toBeCloseTo(matlabStd(want.ACCs), 14);
      expect(r.stdDefinition).toBe('sample');
      expect(r.standardError).toBeCloseTo(matlabStd(want.ACCs) / Math.sqrt(10), 14);
      expect(r.thresholds).toHaveLength(10);
      r.thresholds.forEach((t, i) => expect(t).toBeCloseTo(want.thresholds[i], 12));
      // ROC metrics of the pair scores as evaluated (each pair with its test fold's mean), by brute force.
      expect(r.metrics.auc).toBeCloseTo(referenceAuc(want.scores, p.same), 12);
      expect(r.metrics.eer).toBeCloseTo(referenceEer(want.scores, p.same), 9);
      expect(r.metrics.tarAtFar.map((x) => x.far)).toEqual([1e-3, 1e-2]);
      for (const { far, tar, tarInterpolated } of r.metrics.tarAtFar) {
        const expected = referenceTarAtFar(want.scores, p.same, far);
        expect(tar).toBe(expected.tar);
        expect(tarInterpolated).toBeCloseTo(expected.tarInterpolated, 12);
      }
    }
    expect(byName('canonical').accuracy).not.toBe(byName('no-flip').accuracy); // the flip feature changes the number
  });
  it('canonical and no-flip test each pair in its own fold when the pairs carry their folds (uneven, as after skipped pairs)', () => {
    // Drop every 7th pair of the first folds, as onBad: 'skip' would: the folds become uneven and no longer consecutive blocks.
    const keep = Array.from({ length: p.same.length }, (_, i) => i).filter((i) => !(i < 240 && i % 7 === 3));
    const fold = keep.map((i) => Math.floor(i / 60));
    const pick = <T,>(xs: ArrayLike<T>) => keep.map((i) => xs[i]);
    const sub = {
      leftOriginal: pick(p.leftOriginal),
      leftFlipped: pick(p.leftFlipped),
      rightOriginal: pick(p.rightOriginal),
      rightFlipped: pick(p.rightFlipped),
      same: pick(p.same),
    };
    const labelled = evaluateLfwProtocols({ ...sub, fold });
    const get = (name: string) => labelled.protocols.find((x) => x.name === name)!;
    const canonical = referenceEvaluationM(concatRows(sub.leftOriginal, sub.leftFlipped), concatRows(sub.rightOriginal, sub.rightFlipped), sub.same, 10, 10000, fold);
    const noFlip = referenceEvaluationM(sub.leftOriginal, sub.rightOriginal, sub.same, 10, 10000, fold);
    expect(get('canonical').foldAccuracies).toEqual(canonical.ACCs);
    expect(get('no-flip').foldAccuracies).toEqual(noFlip.ACCs);
    // Without the labels, 600 − 34 pairs cannot be cut into 10 equal consecutive folds: an error, not a silent regrouping.
    expect(() => evaluateLfwProtocols(sub)).toThrow(/cannot be split into 10 folds/);
  });
  it('best-threshold and sum-fusion-l2 match their references on the fused, normalised features', () => {
    const e1 = sumNormalisedRows(p.leftOriginal, p.leftFlipped);
    const e2 = sumNormalisedRows(p.rightOriginal, p.rightFlipped);
    const cosines = e1.map((row, i) => row.reduce((s, v, j) => s + v * e2[i][j], 0));
    const best = byName('best-threshold');
    expect(best.accuracy).toBe(referenceBestThreshold(cosines, p.same));
    expect(best.foldAccuracies).toBeNull();
    expect(best.std).toBeNull();
    const insight = byName('sum-fusion-l2');
    const ref = referenceInsightface(e1, e2, p.same);
    expect(insight.foldAccuracies).toEqual(ref.accuracy);
    expect(insight.thresholds).toEqual(ref.bestThresholds);
    expect(insight.stdDefinition).toBe('population');
    expect(insight.standardError).toBeCloseTo(matlabStd(ref.accuracy) / Math.sqrt(10), 15);
    expect(insight.thresholdUnit).toBe('squared-l2-distance');
    // On unit vectors ‖a − b‖² = 2 − 2cos, so both share one ROC.
    expect(insight.metrics.auc).toBeCloseTo(best.metrics.auc, 12);
  });
  it('names the mismatched argument', () => {
    expect(() => evaluateLfwProtocols({ ...p, rightFlipped: p.rightFlipped.slice(1) })).toThrow(
      /leftOriginal has 600 rows but rightFlipped has 599/,
    );
    expect(() => evaluateLfwProtocols({ ...p, leftFlipped: { rows: 600, cols: 32, data: new Float32Array(10) } })).toThrow(
      /leftFlipped: dense matrix 600×32 needs 19200 values, data has 10/,
    );
  });
  it('accepts dense row-major buffers as well as rows', () => {
    const dense = (rows: Float32Array[]) => {
      const data = new Float32Array(rows.length * 32);
      rows.forEach((r, i) => data.set(r, i * 32));
      return { rows: rows.length, cols: 32, data };
    };
    const fromDense = evaluateLfwProtocols({
      leftOriginal: dense(p.leftOriginal),
      leftFlipped: dense(p.leftFlipped),
      rightOriginal: dense(p.rightOriginal),
      rightFlipped: dense(p.rightFlipped),
      same: p.same,
    });
    expect(fromDense).toEqual(report);
  });
});
