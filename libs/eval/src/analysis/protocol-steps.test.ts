import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@sphereface/common';
import { evaluateLfwProtocols, type FlipPairFeatures } from '../protocols';
import { referenceGetAccuracy, referenceGridHits } from '../testing/reference';
import { gaussianSource, syntheticPairs } from '../testing/synthetic';
import { analyseProtocolSteps, protocolStepCell as cell, type ProtocolStepAnalysis } from './protocol-steps';
import { protocolStepsMarkdown } from './format';

/**
 * LFW-like pairs from a feature model: `image(identity, rng)` draws one image's (original, flipped) features of
 * an identity made by `identity(rng)`. Within each tenth of the pairs the first half are same pairs (pairs.txt).
 */
function pairsFrom<I>(
  n: number,
  seed: number,
  identity: (g: () => number) => I,
  image: (id: I, g: () => number) => [Float64Array, Float64Array],
): FlipPairFeatures & { same: boolean[] } {
  const g = gaussianSource(seed);
  const out = { leftOriginal: [] as Float64Array[], leftFlipped: [] as Float64Array[], rightOriginal: [] as Float64Array[], rightFlipped: [] as Float64Array[], same: [] as boolean[] };
  for (let i = 0; i < n; i++) {
    const same = i % (n / 10) < n / 20;
    const a = identity(g);
    const b = same ? a : identity(g);
    const [lo, lf] = image(a, g);
    const [ro, rf] = image(b, g);
    out.leftOriginal.push(lo);
    out.leftFlipped.push(lf);
    out.rightOriginal.push(ro);
    out.rightFlipped.push(rf);
    out.same.push(same);
  }
  return out;
}

const gaussianVector = (g: () => number, d: number, scale = 1) => Float64Array.from({ length: d }, () => scale * g());
const unit = (v: Float64Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

/** An image's feature and its mirror's: the same base plus independent noise of the given size. */
const views = (base: Float64Array, g: () => number, noise: number): [Float64Array, Float64Array] => [
  base.map((x) => x + noise * g()),
  base.map((x) => x + noise * g()),
];

describe('analyseProtocolSteps: the named protocols are cells', () => {
  it('canonical, no-flip and best-threshold reproduce evaluateLfwProtocols exactly (consecutive folds)', () => {
    const p = syntheticPairs({ pairs: 600, dim: 24, signal: 0.6, seed: 5, offset: 1.5 });
    const a = analyseProtocolSteps(p);
    const report = evaluateLfwProtocols(p);
    for (const name of ['canonical', 'no-flip', 'best-threshold'] as const) {
      const want = report.protocols.find((q) => q.name === name)!;
      const got = a.cells.filter((c) => c.protocol === name);
      expect(got, name).toHaveLength(1);
      expect(got[0].accuracy, name).toBe(want.accuracy);
      expect(got[0].thresholds, name).toEqual(want.thresholds);
      if (want.foldAccuracies) expect(got[0].foldAccuracies, name).toEqual(want.foldAccuracies);
      expect(got[0].auc, name).toBe(want.metrics.auc);
    }
    expect(cell(a, 'concat', 'mean', 'l2', 'other-folds').protocol).toBe('canonical');
    expect(cell(a, 'original', 'mean', 'l2', 'other-folds').protocol).toBe('no-flip');
    expect(cell(a, 'sum', 'none', 'l2', 'all-pairs').protocol).toBe('best-threshold');
  });

  it('with the pairs file\'s fold labels (shuffled, uneven folds) as well', () => {
    const p = syntheticPairs({ pairs: 400, dim: 16, signal: 0.5, seed: 8 });
    const rnd = mulberry32(3);
    const fold = p.same.map((_, i) => (i < 20 ? 0 : Math.floor(rnd() * 10)));
    const input = { ...p, fold };
    const a = analyseProtocolSteps(input);
    const report = evaluateLfwProtocols(input);
    for (const name of ['canonical', 'no-flip'] as const) {
      const want = report.protocols.find((q) => q.name === name)!;
      const got = a.cells.find((c) => c.protocol === name)!;
      expect(got.foldAccuracies, name).toEqual(want.foldAccuracies);
      expect(got.accuracy, name).toBe(want.accuracy);
    }
    // Every cell is evaluated on those folds: the all-pairs fold accuracies, weighted by fold size, give the accuracy.
    const sizes = Array.from({ length: 10 }, (_, f) => fold.filter((x) => x === f).length);
    for (const c of a.cells.filter((x) => x.threshold === 'all-pairs')) {
      const weighted = c.foldAccuracies.reduce((s, acc, f) => s + acc * sizes[f], 0) / fold.length;
      expect(weighted).toBeCloseTo(c.accuracy, 12);
    }
  });

  it('the uncentred cells follow evaluation.m\'s threshold rule (a brute-force transcription on the grid)', () => {
    const p = syntheticPairs({ pairs: 200, dim: 12, signal: 0.4, seed: 11, offset: 0.3 });
    const steps = 500;
    const a = analyseProtocolSteps(p, { thresholdSteps: steps });
    // Scores: cosine of (o + f) on both sides.
    const fuse = (o: ArrayLike<number>, f: ArrayLike<number>) => Float64Array.from(o, (x, j) => x + f[j]);
    const cos = p.same.map((_, i) => {
      const l = fuse(p.leftOriginal[i], p.leftFlipped[i]);
      const r = fuse(p.rightOriginal[i], p.rightFlipped[i]);
      let dot = 0;
      for (let j = 0; j < l.length; j++) dot += l[j] * r[j];
      return dot / (Math.hypot(...l) * Math.hypot(...r));
    });
    const flags = p.same.map((s) => (s ? 1 : -1));
    const foldAccuracies: number[] = [];
    for (let f = 0; f < 10; f++) {
      const train = cos.map((_, i) => i).filter((i) => Math.floor(i / 20) !== f);
      const test = cos.map((_, i) => i).filter((i) => Math.floor(i / 20) === f);
      const hits = referenceGridHits(
        train.map((i) => cos[i]),
        train.map((i) => flags[i]),
        steps,
      );
      const best = Math.max(...hits);
      const chosen = Array.from(hits, (h, k) => (h === best ? (k - steps) / steps : NaN)).filter((t) => !Number.isNaN(t));
      const t = chosen.reduce((s, x) => s + x, 0) / chosen.length;
      foldAccuracies.push(
        referenceGetAccuracy(
          test.map((i) => cos[i]),
          test.map((i) => flags[i]),
          t,
        ),
      );
    }
    const got = cell(a, 'sum', 'none', 'l2', 'other-folds');
    expect(got.foldAccuracies.map((x) => Math.round(x * 20))).toEqual(foldAccuracies.map((x) => Math.round(x * 20)));
  });

  it('has every fusion × centring × threshold with L2 and every fusion × threshold without it; none other', () => {
    const a = analyseProtocolSteps(syntheticPairs({ pairs: 100, dim: 8, signal: 0.5, seed: 1 }));
    expect(a.cells).toHaveLength(3 * 3 * 2 + 3 * 2);
    expect(new Set(a.cells.map((c) => `${c.fusion}/${c.centring}/${c.normalisation}/${c.threshold}`)).size).toBe(a.cells.length);
    expect(() => cell(a, 'concat', 'mean', 'none', 'other-folds')).toThrow(/centring does not change the distances/);
    // All-pairs thresholds see the test pairs: never below the other-folds accuracy's best fold-free counterpart.
    for (const c of a.cells.filter((x) => x.threshold === 'all-pairs')) {
      const folds = cell(a, c.fusion, c.centring, c.normalisation, 'other-folds');
      expect(c.accuracy).toBeGreaterThanOrEqual(folds.accuracy - 1e-12);
      expect(c.auc).toBe(folds.auc);
    }
  });
});

describe('analyseProtocolSteps: without L2 normalisation', () => {
  it('the threshold search on distances does not depend on the features\' scale (no grid to fall between)', () => {
    const p = syntheticPairs({ pairs: 200, dim: 8, signal: 1, seed: 31 });
    const scaled = (c: number) => {
      const s = (rows: Float32Array[]) => rows.map((r) => Float64Array.from(r, (x) => c * x));
      return { ...p, leftOriginal: s(p.leftOriginal), leftFlipped: s(p.leftFlipped), rightOriginal: s(p.rightOriginal), rightFlipped: s(p.rightFlipped) };
    };
    const ref = cell(analyseProtocolSteps(p), 'concat', 'none', 'none', 'other-folds');
    expect(ref.accuracy).toBeGreaterThan(0.7);
    for (const c of [1e-4, 1e4]) {
      expect(cell(analyseProtocolSteps(scaled(c)), 'concat', 'none', 'none', 'other-folds').foldAccuracies, `×${c}`).toEqual(ref.foldAccuracies);
    }
  });
});

describe('analyseProtocolSteps: known effects of mean subtraction', () => {
  const d = 16;
  const e0 = Float64Array.from({ length: d }, (_, j) => (j === 0 ? 1 : 0));

  it('a large common offset: subtracting the mean helps (uncentred cosines all fall within one step of the grid)', () => {
    // x = 1000·e0 + identity + noise: every uncentred cosine lies within 1e-4 of 1, so no grid threshold separates them.
    const p = pairsFrom(
      400,
      21,
      (g) => gaussianVector(g, d),
      (id, g) => views(id.map((x, j) => x + 1000 * e0[j]), g, 0.3),
    );
    const a = analyseProtocolSteps(p);
    const centred = cell(a, 'concat', 'mean', 'l2', 'other-folds');
    const uncentred = cell(a, 'concat', 'none', 'l2', 'other-folds');
    expect(centred.accuracy).toBeGreaterThan(0.95);
    expect(uncentred.accuracy).toBeLessThan(0.6);
    // The step that fails is the threshold, not the ranking: the best threshold over all pairs still separates them.
    expect(cell(a, 'concat', 'none', 'l2', 'all-pairs').accuracy).toBeGreaterThan(0.95);
    expect(cell(a, 'concat', 'none', 'none', 'other-folds').accuracy).toBeGreaterThan(0.95);
    // The mean is large against the spread, and nearly every feature points along it.
    expect(a.mean.concat.ratio).toBeGreaterThan(100);
    expect(a.mean.concat.meanCosine).toBeGreaterThan(0.999);
    expect(a.mean.concat.meanResultantLength).toBeGreaterThan(0.999);
  });

  it('identities on a narrow cone, with norms that carry no identity: subtracting the mean hurts; centring unit vectors does not', () => {
    // Direction = normalize(30·e0 + identity direction + noise), norm uniform in [0.5, 1.5] independently of identity
    // (a loss on normalised features leaves the norm free). Centring moves the norm's variation into the direction.
    const p = pairsFrom(
      600,
      22,
      (g) => gaussianVector(g, d),
      (id, g) => {
        const direction = id.map((x, j) => x + 30 * e0[j]);
        // One norm for the image and its mirror (they are nearly the same picture; see the next test otherwise).
        const r = 0.5 + mulberryLike(g);
        const one = () => unit(direction.map((x) => x + 0.3 * g())).map((x) => r * x);
        return [one(), one()];
      },
    );
    const a = analyseProtocolSteps(p);
    for (const threshold of ['other-folds', 'all-pairs'] as const) {
      const centred = cell(a, 'concat', 'mean', 'l2', threshold);
      const uncentred = cell(a, 'concat', 'none', 'l2', threshold);
      const unitCentred = cell(a, 'concat', 'unit-mean', 'l2', threshold);
      expect(uncentred.accuracy, threshold).toBeGreaterThan(0.9);
      expect(uncentred.accuracy - centred.accuracy, threshold).toBeGreaterThan(0.15);
      expect(unitCentred.accuracy, threshold).toBeGreaterThan(uncentred.accuracy - 0.03);
    }
    expect(cell(a, 'concat', 'none', 'l2', 'other-folds').auc - cell(a, 'concat', 'mean', 'l2', 'other-folds').auc).toBeGreaterThan(0.1);
    // The same in the no-flip and sum-fusion rows: the flip is not involved.
    for (const fusion of ['sum', 'original'] as const) {
      expect(cell(a, fusion, 'none', 'l2', 'other-folds').accuracy - cell(a, fusion, 'mean', 'l2', 'other-folds').accuracy, fusion).toBeGreaterThan(0.15);
    }
    // The signature in the statistics: the spread along μ is the norm (correlation ≈ 1) and a large share of it.
    expect(a.mean.concat.normCorrelationAlongMean).toBeGreaterThan(0.95);
    expect(a.mean.concat.varianceShareAlongMean).toBeGreaterThan(0.5);
    expect(a.norms.original.cv).toBeGreaterThan(0.2);
  });

  it('independent norms of an image and its mirror: the concatenated feature\'s direction depends on their ratio, the sum\'s hardly', () => {
    // The same cone without centring, but the original and the mirrored feature draw their norms independently:
    // [r₁u; r₂u'] turns with r₁/r₂ in the plane of its halves, (r₁u + r₂u') barely moves since u ≈ u'.
    const p = pairsFrom(
      600,
      24,
      (g) => gaussianVector(g, d),
      (id, g) => {
        const direction = id.map((x, j) => x + 30 * e0[j]);
        const one = () => {
          const r = 0.5 + mulberryLike(g);
          return unit(direction.map((x) => x + 0.3 * g())).map((x) => r * x);
        };
        return [one(), one()];
      },
    );
    const a = analyseProtocolSteps(p);
    const concat = cell(a, 'concat', 'none', 'l2', 'other-folds');
    expect(cell(a, 'sum', 'none', 'l2', 'other-folds').accuracy).toBeGreaterThan(0.95);
    expect(cell(a, 'original', 'none', 'l2', 'other-folds').accuracy).toBeGreaterThan(0.95);
    expect(cell(a, 'sum', 'none', 'l2', 'other-folds').accuracy - concat.accuracy).toBeGreaterThan(0.15);
    // Normalising every image's feature before fusion removes the ratio (and centring those unit features is harmless).
    expect(cell(a, 'concat', 'unit-mean', 'l2', 'other-folds').accuracy).toBeGreaterThan(0.95);
  });

  it('identity along the mean direction: the uncentred cosine cannot see it; mean subtraction and distances can', () => {
    // x = (10 + 3t)·e0 + small isotropic noise, t ~ N(0, 1) per identity: the identity is a position along μ.
    const p = pairsFrom(
      600,
      23,
      (g) => 3 * g(),
      (t, g) =>
        views(
          e0.map((x) => x * (10 + t)),
          g,
          0.05,
        ),
    );
    const a = analyseProtocolSteps(p);
    const centred = cell(a, 'concat', 'mean', 'l2', 'other-folds');
    const uncentred = cell(a, 'concat', 'none', 'l2', 'other-folds');
    expect(centred.accuracy - uncentred.accuracy).toBeGreaterThan(0.1);
    expect(centred.auc - uncentred.auc).toBeGreaterThan(0.1);
    expect(cell(a, 'concat', 'none', 'none', 'other-folds').accuracy).toBeGreaterThan(0.9);
    expect(a.mean.concat.varianceShareAlongMean).toBeGreaterThan(0.5);
  });
});

/** A uniform [0, 1) value from a Gaussian source (Φ(z)), so one seeded generator drives a whole case. */
function mulberryLike(g: () => number): number {
  const z = g();
  return 0.5 * (1 + erf(z / Math.SQRT2));
}
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): plenty for drawing a test's norms.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('analyseProtocolSteps: statistics', () => {
  it('hand case: norms, the mean against the spread, the share along it, per-fold means', () => {
    // Rows (3,4) ± (1,0) and (3,4) ± (0,1): μ = (3,4), ‖μ‖ = 5, every row at distance 1 from μ; along μ̂ = (0.6, 0.8)
    // the deviations project to ±0.6 and ±0.8, so the variance share along μ is (0.36 + 0.64)/2 = 0.5.
    const rows = [new Float64Array([4, 4]), new Float64Array([3, 5]), new Float64Array([2, 4]), new Float64Array([3, 3])];
    const input = { leftOriginal: [rows[0], rows[1]], rightOriginal: [rows[2], rows[3]], same: [true, false] };
    const a = analyseProtocolSteps({ ...input, leftFlipped: input.leftOriginal, rightFlipped: input.rightOriginal }, { folds: 2 });
    const norms = rows.map((r) => Math.hypot(...r));
    const m = norms.reduce((s, x) => s + x, 0) / 4;
    expect(a.norms.original.mean).toBeCloseTo(m, 14);
    expect(a.norms.original.sd).toBeCloseTo(Math.sqrt(norms.reduce((s, x) => s + (x - m) ** 2, 0) / 4), 14);
    expect(a.norms.original.min).toBeCloseTo(Math.hypot(3, 3), 14);
    expect(a.norms.original.max).toBeCloseTo(Math.hypot(3, 5), 14);
    expect(a.norms.concat.mean).toBeCloseTo(Math.SQRT2 * m, 14);
    expect(a.norms.sum.mean).toBeCloseTo(2 * m, 14);
    const o = a.mean.original;
    expect(o.meanNorm).toBeCloseTo(5, 14);
    expect(o.spread).toBeCloseTo(1, 14);
    expect(o.ratio).toBeCloseTo(5, 14);
    expect(o.spreadAlongMean).toBeCloseTo(Math.sqrt(0.5), 14);
    expect(o.varianceShareAlongMean).toBeCloseTo(0.5, 14);
    expect(o.meanCosine).toBeCloseTo(rows.reduce((s, r) => s + (3 * r[0] + 4 * r[1]) / (5 * Math.hypot(...r)), 0) / 4, 14);
    const unitMean = [0, 1].map((j) => rows.reduce((s, r) => s + r[j] / Math.hypot(...r), 0) / 4);
    expect(o.meanResultantLength).toBeCloseTo(Math.hypot(...unitMean), 14);
    // Fold 1's training mean is pair 2's rows ((3,5), (3,3)) → (3,4); fold 2's is pair 1's ((4,4), (2,4)) → (3,4).
    expect(o.perFold.map((f) => f.meanNorm)).toEqual([5, 5]);
    expect(o.perFold.map((f) => f.distanceFromOverallMean)).toEqual([0, 0]);
    // concat [x; x]: μ = (3,4,3,4), ‖μ‖ = √50, spread √2: the same ratio.
    expect(a.mean.concat.ratio).toBeCloseTo(5, 14);
    expect(a.featureDimension).toBe(2);
    expect(a.pairs).toBe(2);
    expect(a.samePairs).toBe(1);
  });

  it('names the function and the argument in errors', () => {
    const p = syntheticPairs({ pairs: 100, dim: 4, signal: 1, seed: 2 });
    expect(() => analyseProtocolSteps({ ...p, rightFlipped: p.rightFlipped.slice(1) })).toThrow(
      /analyseProtocolSteps: leftOriginal has 100 rows but rightFlipped has 99/,
    );
    expect(() => analyseProtocolSteps({ ...p, fold: p.same.map(() => 10) })).toThrow(/fold\[0\] is 10/);
    expect(() => analyseProtocolSteps(syntheticPairs({ pairs: 105, dim: 4, signal: 1, seed: 2 }))).toThrow(/105 pairs cannot be split into 10 folds/);
  });
});

describe('protocolStepsMarkdown', () => {
  it('a features table and a grid with one row per fusion, the named protocols marked', () => {
    const a: ProtocolStepAnalysis = analyseProtocolSteps(syntheticPairs({ pairs: 100, dim: 8, signal: 0.5, seed: 4 }));
    const md = protocolStepsMarkdown([{ label: 'model A', analysis: a }]);
    const gridRows = md.split('\n').filter((l) => l.startsWith('| model A | '));
    expect(gridRows).toHaveLength(1 + 3);
    const canonical = cell(a, 'concat', 'mean', 'l2', 'other-folds');
    expect(md).toContain(`| model A | concat | ${(100 * canonical.accuracy).toFixed(2)} **canonical** / `);
    expect(md).toMatch(/\| model A \| original \(no flip\) \| [0-9.]+ \*\*no-flip\*\* \//);
    expect(md).toMatch(/\| model A \| sum \| [^|]+\| [^|]+\| [0-9.]+ \/ [0-9.]+ \*\*best-threshold\*\* ·/);
  });
});
