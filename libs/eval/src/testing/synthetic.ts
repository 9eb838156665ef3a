/**
 * Seeded synthetic LFW-like pairs for tests and benchmarks: identities are random directions, an image's
 * feature is a shared offset (deep features are not centred, which is why evaluation.m subtracts a mean)
 * plus `signal` × its identity vector plus unit Gaussian noise; the mirrored image's feature has the same
 * identity part and a partly correlated noise, so that flip fusion averages some noise away.
 */

import { mulberry32 } from '@sphereface/common';

/** Standard normal samples by Box–Muller. */
export function gaussianSource(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const phi = 2 * Math.PI * u();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}

const TABLE_SIZE = 1 << 16;
/** 2^16 Box–Muller normals, drawn by uniform random index: ~5× cheaper than Box–Muller per sample, and
 * the LFW-sized data set needs ~18M samples. */
const NORMAL_TABLE = (() => {
  const g = gaussianSource(0x5eed);
  return Float64Array.from({ length: TABLE_SIZE }, g);
})();

function fillGaussian(u: () => number, out: Float64Array): void {
  for (let j = 0; j < out.length; j++) out[j] = NORMAL_TABLE[(u() * TABLE_SIZE) | 0];
}

export interface SyntheticPairs {
  leftOriginal: Float32Array[];
  leftFlipped: Float32Array[];
  rightOriginal: Float32Array[];
  rightFlipped: Float32Array[];
  /** Within each tenth of the pairs: first half same, second half different (LFW's pairs.txt layout). */
  same: boolean[];
}

export interface SyntheticOptions {
  pairs: number;
  /** Per-image feature dimension (the fused feature has twice this). */
  dim: number;
  /** Identity signal scale relative to unit noise. */
  signal: number;
  seed: number;
  /** Value of every coordinate of the shared offset (default 1). */
  offset?: number;
  /** Correlation between an image's noise and its mirror's noise (default 0.5). */
  flipCorrelation?: number;
}

export function syntheticPairs(o: SyntheticOptions): SyntheticPairs {
  const u = mulberry32(o.seed);
  const offset = o.offset ?? 1;
  const rho = o.flipCorrelation ?? 0.5;
  const fresh = Math.sqrt(1 - rho * rho);
  const d = o.dim;
  const identity = () => {
    const z = new Float64Array(d);
    fillGaussian(u, z);
    return z;
  };
  const e = new Float64Array(d);
  const e2 = new Float64Array(d);
  // An image and its mirror: same identity signal, unit noises with correlation rho.
  const views = (id: Float64Array): [Float32Array, Float32Array] => {
    fillGaussian(u, e);
    fillGaussian(u, e2);
    const x = new Float32Array(d);
    const y = new Float32Array(d);
    for (let j = 0; j < d; j++) {
      const base = offset + o.signal * id[j];
      x[j] = base + e[j];
      y[j] = base + rho * e[j] + fresh * e2[j];
    }
    return [x, y];
  };
  const block = o.pairs / 10;
  const out: SyntheticPairs = { leftOriginal: [], leftFlipped: [], rightOriginal: [], rightFlipped: [], same: [] };
  for (let i = 0; i < o.pairs; i++) {
    const same = i % block < block / 2;
    const a = identity();
    const b = same ? a : identity();
    const [lo, lf] = views(a);
    const [ro, rf] = views(b);
    out.leftOriginal.push(lo);
    out.leftFlipped.push(lf);
    out.rightOriginal.push(ro);
    out.rightFlipped.push(rf);
    out.same.push(same);
  }
  return out;
}

/** Row-wise concatenation of two lists of rows (the paper's fused feature). */
export function concatRows(a: ArrayLike<number>[], b: ArrayLike<number>[]): Float64Array[] {
  return a.map((row, i) => {
    const out = new Float64Array(row.length + b[i].length);
    out.set(row as ArrayLike<number>, 0);
    out.set(b[i] as ArrayLike<number>, row.length);
    return out;
  });
}

/** (a_i + b_i)/‖a_i + b_i‖ row by row: the fused embedding of opensphere and insightface, for the tests. */
export function sumNormalisedRows(a: ArrayLike<number>[], b: ArrayLike<number>[]): Float64Array[] {
  return a.map((row, i) => {
    const v = new Float64Array(row.length);
    let sq = 0;
    for (let j = 0; j < row.length; j++) {
      v[j] = row[j] + b[i][j];
      sq += v[j] * v[j];
    }
    const n = Math.sqrt(sq);
    for (let j = 0; j < row.length; j++) v[j] /= n;
    return v;
  });
}
