import { mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sgdMomentum, sumOfSquares, SGD_MOMENTUM_KERNEL, type SgdCoefficients } from './sgd';

const f32 = Math.fround;

/** Caffe's step written out per element, each operation rounded to float32 as the fallback rounds it. */
function reference(w: Float32Array, g: Float32Array, v: Float32Array, c: SgdCoefficients): [Float32Array, Float32Array] {
  const w1 = new Float32Array(w.length), v1 = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    let grad = c.scale !== 1 ? f32(g[i] * f32(c.scale)) : g[i];
    if (c.decay !== 0) grad = f32(grad + f32(w[i] * f32(c.decay)));
    v1[i] = f32(f32(v[i] * f32(c.momentum)) + f32(grad * f32(c.lr)));
    w1[i] = f32(w[i] - v1[i]);
  }
  return [w1, v1];
}

describe('sgdMomentum / sumOfSquares (op fallback, cpu backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const rng = mulberry32(3);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
  const w = rand(257), g = rand(257), v = rand(257);

  for (const c of [
    { lr: 0.1, momentum: 0.9, decay: 5e-4, scale: 1 },
    { lr: 0.2, momentum: 0.9, decay: 0, scale: 0.37 },
    { lr: 0.01, momentum: 0, decay: 1e-3, scale: 0.5 },
  ]) {
    it(`matches Caffe's update element by element, bit for bit (${JSON.stringify(c)})`, () => {
      expect(tf.getKernel(SGD_MOMENTUM_KERNEL, 'cpu')).toBeUndefined();
      const before = tf.memory().numTensors;
      const [w1, v1] = tf.tidy(() => sgdMomentum([{ w: tf.tensor(w), g: tf.tensor(g), v: tf.tensor(v), c }])[0].map((t) => tf.keep(t)));
      const [rw, rv] = reference(w, g, v, c);
      expect(Array.from(w1.dataSync())).toEqual(Array.from(rw));
      expect(Array.from(v1.dataSync())).toEqual(Array.from(rv));
      tf.dispose([w1, v1]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('sumOfSquares is Σ x² per tensor (float64 accumulation, float32 result), the tensors added in float32', () => {
    const s = tf.tidy(() => sumOfSquares([tf.tensor(w), tf.tensor(g), tf.tensor(v)]).dataSync()[0]);
    const perTensor = [w, g, v].map((t) => f32(Array.from(t).reduce((a, x) => a + f32(x * x), 0)));
    expect(s).toBe(perTensor.reduce((a, x) => f32(a + x), 0));
    expect(() => sumOfSquares([])).toThrow(/no tensors/);
  });
});
