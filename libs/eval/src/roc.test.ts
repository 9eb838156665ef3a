import { describe, expect, it } from 'vitest';
import { equalErrorRate, rocAuc, rocCurve, tarAtFar, verificationMetrics } from './roc';
import { referenceAuc, referenceEer, referenceTarAtFar } from './testing/reference';
import { mulberry32 } from '@sphereface/common';

/** Scores and labels from separate lists of same and different scores. */
function labelled(sameScores: number[], diffScores: number[]) {
  return { scores: [...sameScores, ...diffScores], same: [...sameScores.map(() => true), ...diffScores.map(() => false)] };
}

describe('rocCurve', () => {
  it('runs from (0,0) at +∞ to (1,1), one point per distinct score, ties in one step', () => {
    const { scores, same } = labelled([0.9, 0.5, 0.5], [0.5, 0.1]);
    const roc = rocCurve(scores, same);
    expect(Array.from(roc.thresholds)).toEqual([Infinity, 0.9, 0.5, 0.1]);
    expect(Array.from(roc.tpr)).toEqual([0, 1 / 3, 1, 1]);
    expect(Array.from(roc.fpr)).toEqual([0, 0, 0.5, 1]);
    expect(Array.from(roc.acceptedSame)).toEqual([0, 1, 3, 3]);
    expect(Array.from(roc.acceptedDifferent)).toEqual([0, 0, 1, 2]);
  });
  it('rejects single-class input and non-finite scores', () => {
    expect(() => rocCurve([0.1, 0.2], [true, true])).toThrow(/2 same and 0 different/);
    expect(() => rocCurve([0.1, NaN], [true, false])).toThrow(/scores\[1\] is NaN/);
    expect(() => rocCurve([0.1], [true, false])).toThrow(/same has 2 labels but there are 1 pairs/);
  });
});

describe('AUC, EER and TAR@FAR on known answers', () => {
  it('perfect separation: AUC 1, EER 0, TAR 1 at any FAR', () => {
    const { scores, same } = labelled([0.9, 0.8, 0.7], [0.3, 0.2]);
    const m = verificationMetrics(scores, same);
    expect(m.auc).toBe(1);
    expect(m.eer).toBe(0);
    for (const t of m.tarAtFar) {
      expect(t.tar).toBe(1);
      expect(t.threshold).toBe(0.7);
      expect(t.achievedFar).toBe(0);
    }
  });
  it('reversed scores: AUC 0, EER 1; all scores tied: AUC ½, EER ½', () => {
    const reversed = labelled([0.1, 0.2], [0.8, 0.9]);
    expect(rocAuc(rocCurve(reversed.scores, reversed.same))).toBe(0);
    expect(equalErrorRate(rocCurve(reversed.scores, reversed.same))).toBe(1);
    const tied = labelled([0.5, 0.5, 0.5], [0.5]);
    expect(rocAuc(rocCurve(tied.scores, tied.same))).toBe(0.5);
    expect(equalErrorRate(rocCurve(tied.scores, tied.same))).toBe(0.5);
  });
  it('symmetric uniform grids shifted by half their range: AUC 0.875, EER 0.25', () => {
    // score(j) = (j + ½)/1000; same pairs j = 500…1499, different pairs j = 0…999 (500 exact ties).
    // Accepting ≥ score(750) takes 750 of 1000 same and 250 of 1000 different: the point (0.25, 0.75)
    // lies on FPR = 1 − TPR. AUC: Σ_k min(1000, k + 500) = 874750 wins + ½·500 ties over 10⁶.
    const score = (j: number) => (j + 0.5) / 1000;
    const { scores, same } = labelled(
      Array.from({ length: 1000 }, (_, k) => score(k + 500)),
      Array.from({ length: 1000 }, (_, m) => score(m)),
    );
    const roc = rocCurve(scores, same);
    expect(rocAuc(roc)).toBeCloseTo(0.875, 12);
    expect(equalErrorRate(roc)).toBeCloseTo(0.25, 12);
  });
  it('logistic(+1, 1) vs logistic(−1, 1) quantiles: EER → 1/(1 + e)', () => {
    // By symmetry FAR = FRR at t = 0, where FRR = P(same < 0) = 1/(1 + e¹) ≈ 0.268941.
    const n = 4000;
    const quantile = (p: number) => Math.log(p / (1 - p));
    const q = Array.from({ length: n }, (_, k) => quantile((k + 0.5) / n));
    const { scores, same } = labelled(
      q.map((x) => 1 + x),
      q.map((x) => -1 + x),
    );
    expect(Math.abs(equalErrorRate(rocCurve(scores, same)) - 1 / (1 + Math.E))).toBeLessThan(1 / n);
  });
  it('TAR@FAR: conservative operating point vs interpolated polyline', () => {
    // 1000 different pairs at j/1000, j = 1…1000; 4 same pairs. One false accept is allowed at FAR 1e-3:
    // thresholds down to 0.9995 (accepting the same pair 0.9995 and the different pair 1.0).
    const { scores, same } = labelled(
      [0.9995, 0.999, 0.5, 0.05],
      Array.from({ length: 1000 }, (_, j) => (j + 1) / 1000),
    );
    const roc = rocCurve(scores, same);
    const at1e3 = tarAtFar(roc, 1e-3);
    expect(at1e3).toEqual({ far: 1e-3, tar: 0.25, threshold: 0.9995, achievedFar: 0.001, tarInterpolated: 0.25 });
    // At FAR 0.0015 the polyline runs from (0.001, 0.25) to (0.002, 0.5) (0.999 is a tie of both labels).
    const between = tarAtFar(roc, 0.0015);
    expect(between.tar).toBe(0.25);
    expect(between.tarInterpolated).toBeCloseTo(0.375, 12);
    expect(() => tarAtFar(roc, 0)).toThrow(/far must lie in \(0, 1\)/);
  });
});

describe('ROC metrics against brute-force references', () => {
  for (const [name, seed, quantum] of [
    ['continuous scores', 5, 0],
    ['scores with many ties', 6, 0.05],
  ] as const) {
    it(name, () => {
      const rnd = mulberry32(seed);
      const n = 1500;
      const same = Array.from({ length: n }, () => rnd() < 0.5);
      const scores = same.map((s) => {
        const x = (s ? 0.35 : 0) + rnd() * 0.6;
        return quantum ? Math.round(x / quantum) * quantum : x;
      });
      const roc = rocCurve(scores, same);
      expect(rocAuc(roc)).toBeCloseTo(referenceAuc(scores, same), 12);
      expect(equalErrorRate(roc)).toBeCloseTo(referenceEer(scores, same), 9);
      for (const far of [1e-3, 1e-2, 0.1, 0.3]) {
        const got = tarAtFar(roc, far);
        const want = referenceTarAtFar(scores, same, far);
        expect(got.tar).toBe(want.tar);
        expect(got.tarInterpolated).toBeCloseTo(want.tarInterpolated, 12);
        expect(got.achievedFar).toBeLessThanOrEqual(far);
      }
    });
  }
});
