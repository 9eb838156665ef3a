import { describe, expect, it } from 'vitest';
import { videoFeature, YTF_PROTOCOL_NAME, ytfVideoMean, type YtfPairRef } from './ytf';

// ---- An independent, literal reference: plain arrays, a brute-force threshold scan, no helper from src/. ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
function naiveVideo(frames: number[][], normalise: boolean): number[] {
  const sum = new Array(frames[0].length).fill(0);
  for (const f of frames) {
    const g = normalise ? unit(f) : f;
    for (let j = 0; j < g.length; j++) sum[j] += g[j] / frames.length;
  }
  return unit(sum);
}
function naiveYtf(pairs: YtfPairRef[], frames: Map<string, number[][]>, normalise: boolean, steps = 10000) {
  const scores = pairs.map((p) => {
    const a = naiveVideo(frames.get(p.a)!, normalise);
    const b = naiveVideo(frames.get(p.b)!, normalise);
    return a.reduce((s, x, j) => s + x * b[j], 0);
  });
  const correct = (i: number, t: number) => (pairs[i].same ? scores[i] > t : scores[i] < t);
  const accs: number[] = [];
  const ts: number[] = [];
  for (let split = 1; split <= 10; split++) {
    const train = pairs.map((_, i) => i).filter((i) => pairs[i].split !== split);
    const test = pairs.map((_, i) => i).filter((i) => pairs[i].split === split);
    // Every grid value, counted directly; the threshold is the mean of all that reach the best training count.
    let best = -1;
    let arg: number[] = [];
    for (let k = -steps; k <= steps; k++) {
      const t = k / steps;
      const c = train.filter((i) => correct(i, t)).length;
      if (c > best) [best, arg] = [c, [t]];
      else if (c === best) arg.push(t);
    }
    const t = arg.reduce((s, x) => s + x, 0) / arg.length;
    ts.push(t);
    accs.push(test.filter((i) => correct(i, t)).length / test.length);
  }
  const m = accs.reduce((s, x) => s + x, 0) / 10;
  const sd = Math.sqrt(accs.reduce((s, x) => s + (x - m) ** 2, 0) / 9);
  return { scores, accs, ts, mean: m, std: sd };
}

// ---- Features with a known answer. ----

/** A random orthonormal basis of R^d (Gram–Schmidt on Gaussian vectors). */
function basis(d: number, rng: () => number): number[][] {
  const out: number[][] = [];
  while (out.length < d) {
    let v = Array.from({ length: d }, () => gaussian(rng));
    for (const e of out) {
      const c = v.reduce((s, x, j) => s + x * e[j], 0);
      v = v.map((x, j) => x - c * e[j]);
    }
    out.push(unit(v));
  }
  return out;
}
const comb = (cs: number[], es: number[][]) => es[0].map((_, j) => cs.reduce((s, c, k) => s + c * es[k][j], 0));

/**
 * Pair i gets two videos of its own whose directions u_a, u_b (in the plane e1, e2) have cosine `cos[i]`. Frames:
 * 3(u + w), 0.5(u − w) and 2u with |w| = 0.9, w ⟂ both directions (e3 for a, e4 for b): after each frame is
 * L2-normalised their mean points along u exactly, while the raw mean (5.5u + 2.25w) does not.
 */
function constructed(pairs: { split: number; same: boolean; cos: number }[], seed: number) {
  const rng = mulberry32(seed);
  const e = basis(6, rng);
  const frames = new Map<string, number[][]>();
  const refs: YtfPairRef[] = pairs.map((p, i) => {
    const phi = 2 * Math.PI * rng();
    const theta = Math.acos(p.cos);
    const ua = comb([Math.cos(phi), Math.sin(phi)], [e[0], e[1]]);
    const ub = comb([Math.cos(phi + theta), Math.sin(phi + theta)], [e[0], e[1]]);
    const vid = (u: number[], w: number[]) => [comb([3, 2.7], [u, w]), comb([0.5, -0.45], [u, w]), comb([2], [u])];
    frames.set(`P${i}a/0`, vid(ua, e[2]));
    frames.set(`P${i}b/0`, vid(ub, e[3]));
    return { split: p.split, a: `P${i}a/0`, b: `P${i}b/0`, same: p.same };
  });
  return { refs, frames };
}

describe('ytfVideoMean', () => {
  it('gives the accuracy, thresholds and scores known by construction', () => {
    // Per split 3 same pairs (cos 0.74975) and 3 different (cos 0.25025), both halfway between grid values; in split s,
    // errors[s] same pairs get cos 0.1 instead: wrong for every threshold in (0.25025, 0.74975), which is where the
    // training optimum lies, so fold s scores 1 − errors[s]/6 and every threshold is the mean of the grid values
    // 0.2503…0.7497, i.e. 0.5.
    const errors = [0, 1, 2, 0, 1, 3, 0, 2, 1, 0];
    const spec: { split: number; same: boolean; cos: number }[] = [];
    for (let s = 1; s <= 10; s++) {
      for (let k = 0; k < 3; k++) spec.push({ split: s, same: true, cos: k < errors[s - 1] ? 0.1 : 0.74975 });
      for (let k = 0; k < 3; k++) spec.push({ split: s, same: false, cos: 0.25025 });
    }
    // Pairs in an order that is not split order: folds come from the split numbers, not from positions.
    const order = spec.map((_, i) => i).sort((x, y) => ((x * 7) % 60) - ((y * 7) % 60));
    const { refs, frames } = constructed(order.map((i) => spec[i]), 11);
    const r = ytfVideoMean({ pairs: refs, frames });

    const wantFolds = errors.map((e) => (6 - e) / 6);
    const wantMean = wantFolds.reduce((s, x) => s + x, 0) / 10;
    const wantStd = Math.sqrt(wantFolds.reduce((s, x) => s + (x - wantMean) ** 2, 0) / 9);
    expect(r.name).toBe(YTF_PROTOCOL_NAME);
    expect(r.name).toBe('ytf-video-mean');
    expect(r.foldAccuracies).toEqual(wantFolds);
    expect(r.accuracy).toBeCloseTo(wantMean, 12);
    expect(r.std).toBeCloseTo(wantStd, 12);
    expect(r.standardError).toBeCloseTo(wantStd / Math.sqrt(10), 12);
    expect(r.stdDefinition).toBe('sample');
    for (const t of r.thresholds) expect(t).toBeCloseTo(0.5, 9);
    expect(r.thresholdUnit).toBe('cosine');
    r.scores.forEach((s, i) => expect(s).toBeCloseTo(spec[order[i]].cos, 12));
    expect([r.pairs, r.samePairs, r.videos, r.featureDimension]).toEqual([60, 30, 120, 6]);
    expect(r.foldPairs).toEqual(new Array(10).fill(6));
    expect(r.frameNormalization).toBe('l2');
    expect(r.metrics.auc).toBeGreaterThan(0.5);

    // The raw mean of these frames leans towards w, so the scores move away from the constructed cosines.
    const raw = ytfVideoMean({ pairs: refs, frames }, { frameNormalization: 'none' });
    expect(Math.max(...raw.scores.map((s, i) => Math.abs(s - spec[order[i]].cos)))).toBeGreaterThan(0.05);
  });

  it('agrees with a brute-force reference on informative random features, shared videos and unequal splits', () => {
    const rng = mulberry32(5);
    const d = 8;
    const people = Array.from({ length: 12 }, () => Array.from({ length: d }, () => gaussian(rng)));
    const frames = new Map<string, number[][]>();
    for (let p = 0; p < people.length; p++) {
      for (let v = 0; v < 3; v++) {
        const nFrames = 1 + Math.floor(rng() * 5);
        const centre = people[p].map((x) => x + 0.8 * gaussian(rng));
        frames.set(`Person_${p}/${v}`, Array.from({ length: nFrames }, () => centre.map((x) => (x + 0.7 * gaussian(rng)) * (0.2 + 3 * rng()))));
      }
    }
    const pairs: YtfPairRef[] = [];
    for (let i = 0; i < 157; i++) {
      const same = rng() < 0.5;
      const p = Math.floor(rng() * people.length);
      const q = same ? p : (p + 1 + Math.floor(rng() * (people.length - 1))) % people.length;
      const va = Math.floor(rng() * 3);
      const vb = same ? (va + 1 + Math.floor(rng() * 2)) % 3 : Math.floor(rng() * 3);
      // Splits in random order and of unequal size (every split present).
      const split = i < 10 ? i + 1 : 1 + Math.floor(rng() * 10);
      pairs.push({ split, a: `Person_${p}/${va}`, b: `Person_${q}/${vb}`, same });
    }
    for (const normalise of [true, false]) {
      const want = naiveYtf(pairs, frames, normalise);
      const got = ytfVideoMean({ pairs, frames }, { frameNormalization: normalise ? 'l2' : 'none' });
      expect(got.foldAccuracies).toEqual(want.accs);
      got.thresholds.forEach((t, k) => expect(t).toBeCloseTo(want.ts[k], 10));
      got.scores.forEach((s, i) => expect(s).toBeCloseTo(want.scores[i], 12));
      expect(got.accuracy).toBeCloseTo(want.mean, 12);
      expect(got.std).toBeCloseTo(want.std, 12);
      expect(got.foldPairs).toEqual(Array.from({ length: 10 }, (_, k) => pairs.filter((p) => p.split === k + 1).length));
      // Informative features: clearly better than chance, not perfect.
      expect(got.accuracy).toBeGreaterThan(0.6);
    }
    // The two frame normalisations differ on these frames (frame norms vary 15-fold).
    const a = ytfVideoMean({ pairs, frames }).scores;
    const b = ytfVideoMean({ pairs, frames }, { frameNormalization: 'none' }).scores;
    expect(a.some((s, i) => Math.abs(s - b[i]) > 1e-3)).toBe(true);
  });

  it('accepts dense and typed-array frame matrices, and ignores videos no pair names', () => {
    const spec = Array.from({ length: 20 }, (_, i) => ({ split: 1 + (i % 10), same: i < 10, cos: i < 10 ? 0.8 : 0.3 }));
    const { refs, frames } = constructed(spec, 3);
    const base = ytfVideoMean({ pairs: refs, frames });
    const dense = new Map([...frames].map(([id, rows]) => [id, { rows: rows.length, cols: rows[0].length, data: Float32Array.from(rows.flat()) }]));
    dense.set('unused/0', { rows: 1, cols: 2, data: Float32Array.from([1, 2]) });
    const r = ytfVideoMean({ pairs: refs, frames: dense });
    expect(r.foldAccuracies).toEqual(base.foldAccuracies);
    r.scores.forEach((s, i) => expect(s).toBeCloseTo(base.scores[i], 6));
    expect(r.videos).toBe(40);
  });

  it('rejects bad input with a message naming the pair or video', () => {
    const spec = Array.from({ length: 20 }, (_, i) => ({ split: 1 + (i % 10), same: i < 10, cos: i < 10 ? 0.8 : 0.3 }));
    const { refs, frames } = constructed(spec, 4);
    const run = (pairs: YtfPairRef[], f: Map<string, unknown> = frames) => () => ytfVideoMean({ pairs, frames: f as Map<string, number[][]> });
    expect(run(refs.map((p, i) => (i === 3 ? { ...p, split: 0 } : p)))).toThrow(/pair 3 .*has split 0; splits are integers 1…10/);
    expect(run(refs.map((p, i) => (i === 3 ? { ...p, split: 11 } : p)))).toThrow(/has split 11/);
    expect(run(refs.filter((p) => p.split !== 7))).toThrow(/split 7 has no pairs/);
    expect(run([])).toThrow(/no pairs/);
    expect(run(refs.map((p, i) => (i === 5 ? { ...p, b: 'Nobody/0' } : p)))).toThrow(/no frame features for video Nobody\/0 \(pair 5, split 6\)/);
    const zero = new Map(frames);
    zero.set(refs[2].a, [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]);
    expect(run(refs, zero)).toThrow(new RegExp(`video ${refs[2].a}: frame 1 is the zero vector`));
    const wide = new Map(frames);
    wide.set(refs[4].b, [[1, 2, 3]]);
    expect(run(refs, wide)).toThrow(/has features of dimension 3, other videos 6/);
    const ragged = new Map(frames);
    ragged.set(refs[1].a, [[1, 2, 3, 4, 5, 6], [1, 2]]);
    expect(run(refs, ragged)).toThrow(/row 1 has 2 values/);
    const cancel = new Map(frames);
    cancel.set(refs[0].a, [[1, 0, 0, 0, 0, 0], [-2, 0, 0, 0, 0, 0]]);
    expect(run(refs, cancel)).toThrow(/mean of the frame features is the zero vector/);
    expect(() => videoFeature({ rows: 0, cols: 4, data: [] })).toThrow(/no frames/);
    expect(() => ytfVideoMean({ pairs: refs, frames }, { thresholdSteps: 0 })).toThrow(/thresholdSteps/);
  });

  it('videoFeature: mean of L2-normalised frames, L2-normalised (by hand)', () => {
    // Frames (3, 0) and (0, 0.5) → unit (1, 0), (0, 1) → mean (0.5, 0.5) → (1/√2, 1/√2); raw mean (1.5, 0.25) → (6, 1)/√37.
    const f = videoFeature([[3, 0], [0, 0.5]]);
    expect(f[0]).toBeCloseTo(Math.SQRT1_2, 15);
    expect(f[1]).toBeCloseTo(Math.SQRT1_2, 15);
    const g = videoFeature([[3, 0], [0, 0.5]], 'none');
    expect(g[0]).toBeCloseTo(6 / Math.sqrt(37), 15);
    expect(g[1]).toBeCloseTo(1 / Math.sqrt(37), 15);
  });
});
