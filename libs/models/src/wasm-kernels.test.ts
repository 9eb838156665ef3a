import { mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './wasm-kernels';

// Float32 sums of up to ~300 products of N(0,1) terms: the two backends differ by summation order only.
const REL_TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case { n: number; h: number; w: number; ci: number; co: number; k: number; stride: number | [number, number]; pad: Pad }

function randArray(rng: () => number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng() * 2 - 1;
  return out;
}

async function convAndGrads(backend: string, c: Case, data: { x: Float32Array; w: Float32Array; r: Float32Array }, viaLayer: boolean) {
  expect(await tf.setBackend(backend)).toBe(true);
  return tf.tidy(() => {
    const x = tf.tensor4d(data.x, [c.n, c.h, c.w, c.ci]);
    const w = tf.tensor4d(data.w, [c.k, c.k, c.ci, c.co]);
    const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) =>
      viaLayer ? tf.fused.conv2d({ x: xx, filter: ww, strides: c.stride, pad: c.pad }) : tf.conv2d(xx, ww, c.stride, c.pad);
    const y = f(x, w);
    const r = tf.tensor(data.r.subarray(0, y.size), y.shape);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D), r)))([x, w]);
    return { y: y.arraySync() as number[][][][], dx: dx.dataSync().slice(), dw: dw.dataSync().slice(), yShape: y.shape };
  });
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1, err = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
  return err / scale;
}

// Every stride/padding the SphereFace nets use (3x3 stride-1 'same'; explicit pad 1 + 3x3 stride-2 'valid' on even and odd
// sizes), plus 'same' stride 2 (asymmetric padding), odd kernels/strides and odd paddings so the polyphase path is
// exercised generally.
const cases: Case[] = [
  { n: 2, h: 8, w: 6, ci: 3, co: 4, k: 3, stride: 1, pad: 'same' },
  { n: 2, h: 7, w: 5, ci: 4, co: 5, k: 3, stride: 1, pad: 'same' },
  { n: 2, h: 10, w: 8, ci: 3, co: 4, k: 3, stride: 2, pad: 'valid' },
  { n: 2, h: 9, w: 7, ci: 2, co: 3, k: 3, stride: 2, pad: 'valid' },
  { n: 3, h: 8, w: 6, ci: 2, co: 4, k: 3, stride: 2, pad: 'same' },
  { n: 1, h: 7, w: 7, ci: 3, co: 2, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 8, w: 6, ci: 3, co: 4, k: 3, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { n: 2, h: 11, w: 9, ci: 2, co: 3, k: 5, stride: 3, pad: 'same' },
  { n: 2, h: 6, w: 6, ci: 2, co: 2, k: 1, stride: 2, pad: 'valid' },
  { n: 2, h: 9, w: 8, ci: 3, co: 2, k: 3, stride: [2, 1], pad: 'same' },
  // Padding ≥ the kernel (dy cropped rather than padded) and padding that spans whole strides.
  { n: 2, h: 5, w: 6, ci: 2, co: 3, k: 3, stride: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { n: 2, h: 8, w: 7, ci: 2, co: 3, k: 3, stride: 2, pad: [[0, 0], [2, 2], [3, 1], [0, 0]] },
];

describe('wasm training kernels vs the cpu backend', () => {
  beforeAll(() => registerWasmTrainingKernels());

  for (const [idx, c] of cases.entries()) {
    for (const viaLayer of [false, true]) {
      it(`case ${idx} ${JSON.stringify(c)} ${viaLayer ? 'fused' : 'conv2d'}`, async () => {
        const rng = mulberry32(1234 + idx);
        const data = { x: randArray(rng, c.n * c.h * c.w * c.ci), w: randArray(rng, c.k * c.k * c.ci * c.co), r: randArray(rng, c.n * (c.h + 8) * (c.w + 8) * c.co) };
        const ref = await convAndGrads('cpu', c, data, viaLayer);
        const before = tf.memory().numTensors;
        const got = await convAndGrads('wasm', c, data, viaLayer);
        expect(tf.memory().numTensors).toBe(before);
        expect(got.yShape).toEqual(ref.yShape);
        expect(maxRelErr(got.y.flat(3), ref.y.flat(3))).toBeLessThan(REL_TOL);
        expect(maxRelErr(got.dx, ref.dx)).toBeLessThan(REL_TOL);
        expect(maxRelErr(got.dw, ref.dw)).toBeLessThan(REL_TOL);
      });
    }
  }

  // [a shape, b shape, transposeA, transposeB]: both code paths (explicit transposes; transposed product for 2-D
  // when it moves fewer elements, e.g. dy·Wᵀ of a wide FC layer), and a batched 3-D product.
  const matmuls: [number[], number[], boolean, boolean][] = [
    [[60, 4], [60, 5], true, false],
    [[3, 50], [40, 50], false, true],
    [[50, 3], [5, 50], true, true],
    [[40, 6], [7, 6], false, true],
    [[2, 5, 7], [2, 3, 7], false, true],
    [[2, 7, 5], [2, 7, 3], true, false],
  ];
  for (const [as, bs, ta, tb] of matmuls) {
    it(`BatchMatMul ${JSON.stringify(as)}${ta ? 'ᵀ' : ''} · ${JSON.stringify(bs)}${tb ? 'ᵀ' : ''} and its gradient match cpu`, async () => {
      const rng = mulberry32(as.length * 1000 + bs[bs.length - 1]);
      const a = randArray(rng, as.reduce((x, y) => x * y, 1)), b = randArray(rng, bs.reduce((x, y) => x * y, 1));
      const run = async (backend: string) => {
        expect(await tf.setBackend(backend)).toBe(true);
        return tf.tidy(() => {
          const [tA, tB] = [tf.tensor(a, as), tf.tensor(b, bs)];
          const f = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q, ta, tb);
          const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(f(p, q))))([tA, tB]);
          return [f(tA, tB), ga, gb].map((t) => t.dataSync().slice());
        });
      };
      const ref = await run('cpu');
      const before = tf.memory().numTensors;
      const got = await run('wasm');
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < 3; i++) expect(maxRelErr(got[i], ref[i])).toBeLessThan(REL_TOL);
    });
  }

  it("registers Conv2DBackpropFilter, which stock wasm lacks", () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
});
