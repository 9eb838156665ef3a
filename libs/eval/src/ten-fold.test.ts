import { describe, expect, it } from 'vitest';
import { gridThreshold, lfwTenFold, strictAccuracy } from './ten-fold';
import { matlabStd, referenceEvaluationM, referenceGetAccuracy, referenceGridHits } from './testing/reference';
import { mulberry32 } from '@sphereface/common';

type Pair = [number[], number[], boolean];

/** Pairs given per fold, flattened in fold order. */
function build(folds: Pair[][]) {
  const pairs = folds.flat();
  return { left: pairs.map((p) => p[0]), right: pairs.map((p) => p[1]), same: pairs.map((p) => p[2]) };
}

const neg = (v: number[]) => v.map((x) => -x);

/** A fold whose features sum to zero: each pair appears with its negation, which keeps its cosine. */
function symmetricFold(pairs: Pair[]): Pair[] {
  return pairs.flatMap(([l, r, s]): Pair[] => [
    [l, r, s],
    [neg(l), neg(r), s],
  ]);
}

describe('lfwTenFold, hand-computed cases', () => {
  it('perfectly separable pairs: 100% in every fold, thresholds at the centre of the grid', () => {
    const folds = Array.from({ length: 10 }, (_, f) =>
      symmetricFold([
        [[f + 1, 2, -3], [f + 1, 2, -3], true], // identical: cosine 1
        [[1, -f, 4], [-1, f, -4], false], // opposite: cosine −1
      ]),
    );
    const r = lfwTenFold(build(folds));
    expect(r.foldAccuracies).toEqual(Array(10).fill(1));
    expect(r.mean).toBe(1);
    expect(r.std).toBe(0);
    // Best set = (−1, 1) exclusive = k = −9999…9999, whose mean is 0.
    for (const t of r.thresholds) expect(Math.abs(t)).toBeLessThan(1e-12);
  });

  it('averages every tied grid threshold, and both inequalities are strict', () => {
    // Same pairs score exactly 0.6 = cos⟨(1,0),(3,4)⟩, different pairs exactly 0 = cos⟨(1,0),(0,1)⟩.
    // Max accuracy for t in (0, 0.6): k = 1…5999, mean 0.3. With "≥" for same pairs (k up to 6000) it
    // would be 0.30005; with "≤" for different pairs (k from 0) 0.29995.
    const folds = Array.from({ length: 10 }, () =>
      symmetricFold([
        [[1, 0], [3, 4], true],
        [[1, 0], [0, 1], false],
      ]),
    );
    const r = lfwTenFold(build(folds));
    for (const t of r.thresholds) expect(t).toBeCloseTo(0.3, 12);
    expect(r.mean).toBe(1);
  });

  it('subtracts the mean of the other folds only, from every pair, before choosing the threshold', () => {
    // Fold 1: A = ((13,4),(14,3)) same, B = ((10,5),(10,−5)) different; mean (11.75, 1.75).
    // Fold 2: C = ((11,0),(10,1)) same, D = ((9,0),(10,−1)) different; mean (10, 0).
    const input = build([
      [
        [[13, 4], [14, 3], true],
        [[10, 5], [10, -5], false],
      ],
      [
        [[11, 0], [10, 1], true],
        [[9, 0], [10, -1], false],
      ],
    ]);
    const r = lfwTenFold(input, { folds: 2 });
    // Test fold 1, μ = (10,0): A → (3,4)·(4,3)/25 = 0.96, B → (0,5)·(0,−5)/25 = −1.
    // Test fold 2, μ = (11.75,1.75): C → 2.625/3.625 = 21/29, D → 9.625/10.625 = 77/85.
    const expectedScores = [0.96, -1, 21 / 29, 77 / 85];
    r.scores.forEach((s, i) => expect(s).toBeCloseTo(expectedScores[i], 12));
    // Fold 1's threshold: fold 2 scored with μ = (10,0) gives C → (1,0)·(0,1) = 0 and D → 0, so every
    // k ≠ 0 reaches the best accuracy (1 of 2) and the mean of the two disjoint intervals is 0.
    expect(Math.abs(r.thresholds[0])).toBeLessThan(1e-12);
    // Fold 2's threshold: fold 1 scored with μ = (11.75,1.75) gives A → 5.625/6.625 = 45/53 ≈ 0.84906 and
    // B → −18.875/√(13.625·48.625) ≈ −0.73331; best k = −7333…8490, mean (−7333 + 8490)/2/10000.
    expect(r.thresholds[1]).toBeCloseTo(0.05785, 12);
    // Fold 1 at t ≈ 0: A and B correct → 1. Fold 2 at 0.05785: C correct, D (0.906 > t) wrong → 0.5.
    expect(r.foldAccuracies).toEqual([1, 0.5]);
    expect(r.mean).toBe(0.75);
    expect(r.std).toBeCloseTo(Math.SQRT1_2 / 2, 15); // sample std of {1, 0.5}: √(2·0.25²/1)
    expect(r.standardError).toBeCloseTo(0.25, 15); // std / √2
  });

  it('gridThreshold averages thresholds from disjoint optimal intervals (same 0.1, 0.5; different 0.3, 0.7)', () => {
    // Hits: t < 0.1 → 2, (0.1, 0.3] → 1, (0.3, 0.5) → 2, [0.5, 0.7] → 1, t > 0.7 → 2.
    // Optimal k: −10000…999 (Σ −49505500, 11000 values), 3001…4999 (Σ 7996000, 1999), 7001…10000 (Σ 25501500, 3000).
    const t = gridThreshold(
      Float64Array.from([0.1, 0.5, 0.3, 0.7]),
      Uint8Array.from([1, 1, 0, 0]),
      Uint8Array.from([1, 1, 1, 1]),
      10000,
    );
    expect(t).toBeCloseTo(-16008000 / 15999 / 10000, 14);
  });

  it('strictAccuracy counts a score equal to the threshold as an error for both labels', () => {
    expect(strictAccuracy([0.5, 0.5, 0.6, 0.4], [1, 0, 1, 0], 0.5)).toBe(0.5);
  });
});

describe('lfwTenFold input validation', () => {
  const ok = build(Array.from({ length: 10 }, () => symmetricFold([[[1, 2], [2, 1], true]])));

  it('rejects a pair count that is not a multiple of the folds', () => {
    expect(() => lfwTenFold({ ...ok, left: ok.left.slice(1), right: ok.right.slice(1), same: ok.same.slice(1) })).toThrow(
      /19 pairs cannot be split into 10 folds/,
    );
  });
  it('names mismatched inputs', () => {
    expect(() => lfwTenFold({ ...ok, right: ok.right.slice(2) })).toThrow(/left has 20 rows but right has 18/);
    expect(() => lfwTenFold({ ...ok, same: ok.same.slice(1) })).toThrow(/same has 19 labels but there are 20 pairs/);
    expect(() => lfwTenFold({ ...ok, right: ok.right.map((r) => [...r, 0]) })).toThrow(/dimension 2 but right has 3/);
  });
  it('names the row and column of a non-finite feature', () => {
    const left = ok.left.map((r) => [...r]);
    left[7][1] = NaN;
    expect(() => lfwTenFold({ ...ok, left })).toThrow(/lfwTenFold: left: row 7 column 1 is NaN/);
  });
  it('rejects non-boolean labels and a feature equal to the training mean', () => {
    expect(() => lfwTenFold({ ...ok, same: ok.same.map(() => 1) as unknown as boolean[] })).toThrow(/same\[0\] is 1/);
    const left = ok.left.map((r) => [...r]);
    left[0] = [0, 0]; // the other folds average to (0, 0)
    left[1] = [0, 0];
    expect(() => lfwTenFold({ ...ok, left })).toThrow(/test fold 1: pair 1 has a left feature equal to the training mean/);
  });
});

describe('lfwTenFold against the reference transcription of evaluation.m', () => {
  it('the reference grid counting equals the literal getAccuracy at every threshold', () => {
    const rnd = mulberry32(3);
    // Scores on and next to grid values, to exercise the strict comparisons.
    const scores = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? Math.round((rnd() * 2 - 1) * 50) / 50 : rnd() * 2 - 1));
    const flags = scores.map(() => (rnd() < 0.5 ? 1 : -1));
    const hits = referenceGridHits(scores, flags, 100);
    for (let k = -100; k <= 100; k++) {
      expect(hits[k + 100] / scores.length).toBe(referenceGetAccuracy(scores, flags, k / 100));
    }
  });

  for (const [name, quantised] of [
    ['continuous features', false],
    ['coarsely quantised features (many tied scores)', true],
  ] as const) {
    it(`matches fold by fold on random ${name}`, () => {
      const rnd = mulberry32(quantised ? 11 : 7);
      const n = 600;
      const d = quantised ? 3 : 24;
      const draw = () => (quantised ? Math.floor(rnd() * 3) - 1 + 0.5 : rnd() - 0.3);
      const same = Array.from({ length: n }, (_, i) => i % 60 < 30);
      const left = Array.from({ length: n }, () => Array.from({ length: d }, draw));
      const right = left.map((row, i) => row.map((v) => (same[i] ? v + (quantised ? (rnd() < 0.3 ? 1 : 0) : 1.6 * (rnd() - 0.5)) : draw())));
      const r = lfwTenFold({ left, right, same });
      const ref = referenceEvaluationM(left, right, same);
      expect(r.foldAccuracies).toEqual(ref.ACCs);
      r.thresholds.forEach((t, i) => expect(t).toBeCloseTo(ref.thresholds[i], 12));
      r.scores.forEach((s, i) => expect(s).toBeCloseTo(ref.scores[i], 12));
      expect(r.std).toBeCloseTo(matlabStd(ref.ACCs), 14);
      expect(r.mean).toBeGreaterThan(0.6); // the planted signal is found
      expect(r.mean).toBeLessThan(1);
    });
  }
});

describe('lfwTenFold reads the pairs\' fold labels', () => {
  /** 600 random pairs in 10 labelled folds of 60 (30 same, 30 different), with a planted signal. */
  function labelled(seed: number) {
    const rnd = mulberry32(seed);
    const n = 600;
    const d = 8;
    const fold = Array.from({ length: n }, (_, i) => Math.floor(i / 60));
    const same = Array.from({ length: n }, (_, i) => i % 60 < 30);
    const left = Array.from({ length: n }, () => Array.from({ length: d }, () => rnd() - 0.3));
    const right = left.map((row, i) => row.map((v) => (same[i] ? v + 1.4 * (rnd() - 0.5) : rnd() - 0.3)));
    return { left, right, same, fold };
  }

  it('labels equal to the consecutive blocks give exactly the unlabelled result (the official 6,000 pairs)', () => {
    const { left, right, same, fold } = labelled(5);
    expect(lfwTenFold({ left, right, same, fold })).toEqual(lfwTenFold({ left, right, same }));
  });

  it('pairs dropped unevenly (as onBad skip does): each pair is tested in its own fold, as the reference does', () => {
    const { left, right, same, fold } = labelled(9);
    // Drop 30 pairs, more from the early folds: 570 pairs, a multiple of 10, so cutting 10 blocks of 57 "works".
    const drops = [6, 5, 4, 4, 3, 3, 2, 2, 1, 0];
    const keep = Array.from({ length: 600 }, (_, i) => i).filter((i) => i % 60 >= drops[fold[i]]);
    expect(keep.length).toBe(570);
    const pick = <T>(xs: T[]) => keep.map((i) => xs[i]);
    const input = { left: pick(left), right: pick(right), same: pick(same), fold: pick(fold) };
    const r = lfwTenFold(input);
    const ref = referenceEvaluationM(input.left, input.right, input.same, 10, 10000, input.fold);
    expect(r.foldAccuracies).toEqual(ref.ACCs);
    r.thresholds.forEach((t, i) => expect(t).toBeCloseTo(ref.thresholds[i], 12));
    r.scores.forEach((s, i) => expect(s).toBeCloseTo(ref.scores[i], 12));
    expect(r.mean).toBeCloseTo(ref.ACCs.reduce((a, b) => a + b, 0) / 10, 14);
  });

  it('rejects fold labels that do not fit', () => {
    const { left, right, same, fold } = labelled(1);
    expect(() => lfwTenFold({ left, right, same, fold: fold.slice(1) })).toThrow(/lfwTenFold: fold has 599 labels but there are 600 pairs/);
    expect(() => lfwTenFold({ left, right, same, fold: fold.map((f, i) => (i === 7 ? 10 : f)) })).toThrow(
      /lfwTenFold: fold\[7\] is 10; fold labels must be integers 0…9 \(10 folds\)/,
    );
    expect(() => lfwTenFold({ left, right, same, fold: fold.map((f, i) => (i === 3 ? 0.5 : f)) })).toThrow(/fold\[3\] is 0\.5/);
    expect(() => lfwTenFold({ left, right, same, fold: fold.map((f) => (f === 4 ? 5 : f)) })).toThrow(/lfwTenFold: fold 4 \(0-based\) has no pairs/);
  });
});
