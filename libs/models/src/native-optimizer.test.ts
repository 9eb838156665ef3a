import { mulberry32 } from '@sphereface/common';
import { sgdMomentum, sgdMomentumOps, sumOfSquares, sumOfSquaresOps, type SgdCoefficients } from './sgd';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { nativeKernelCalls, registerNativeBackend } from '@sphereface/native';
import { describeNative, onBackend, randArray } from '@sphereface/native/testing';

// The fused optimizer kernels must give the op fallback's bits (the trainer's resume and backend-comparison tests rely
// on identical arithmetic). 5M elements take the addon's two-thread path, 1001 the single-thread one.
describeNative('fused optimizer kernels against the op fallback', () => {
  beforeAll(() => {
    registerNativeBackend();
  });
  const rng = mulberry32(11);

  for (const n of [1001, 5_000_000]) {
    const w = randArray(rng, n), g = randArray(rng, n), v = randArray(rng, n);
    for (const c of [
      { lr: 0.1, momentum: 0.9, decay: 5e-4, scale: 1 },
      { lr: 0.2, momentum: 0.9, decay: 0, scale: 0.37 },
    ] satisfies SgdCoefficients[]) {
      it(`sgdMomentum, ${n} elements, ${JSON.stringify(c)}: native fused kernel = cpu ops, bit for bit`, async () => {
        const before = nativeKernelCalls().SphereFaceSgdMomentum.native;
        const native = await onBackend('native', () => sgdMomentum([{ w: tf.tensor(w), g: tf.tensor(g), v: tf.tensor(v), c }])[0]);
        expect(nativeKernelCalls().SphereFaceSgdMomentum.native).toBe(before + 1);
        const ref = await onBackend('cpu', () => sgdMomentumOps(tf.tensor(w), tf.tensor(g), tf.tensor(v), c));
        native.forEach((t, i) => expect(t.values.every((x, j) => Object.is(x, ref[i].values[j])), `output ${i}`).toBe(true));
      });
    }

    it(`sumOfSquares, ${n} elements: fused = Square + Sum + AddN on the same backend, bit for bit`, async () => {
      const before = nativeKernelCalls().SphereFaceSumOfSquares.native;
      const xs = () => [tf.tensor(g), tf.tensor(w), tf.tensor(v.subarray(0, 777))];
      const [fused, ops] = await onBackend('native', () => [sumOfSquares(xs()), sumOfSquaresOps(xs())]);
      expect(nativeKernelCalls().SphereFaceSumOfSquares.native).toBe(before + 1);
      expect(fused.values[0]).toBe(ops.values[0]);
      expect(fused.shape).toEqual([]);
      // Above the threshold both split the sum across threads, so it may differ from cpu's sequential sum in the last bit.
      if (n < 1 << 22) expect(fused.values[0]).toBe((await onBackend('cpu', () => [sumOfSquares(xs())]))[0].values[0]);
    });

    it(`sgdMomentum of three parameters in one kernel call, ${n} elements = three op fallbacks, bit for bit`, async () => {
      const c = [
        { lr: 0.1, momentum: 0.9, decay: 5e-4, scale: 1 },
        { lr: 0.2, momentum: 0.9, decay: 0, scale: 0.37 },
        { lr: 0.1, momentum: 0.9, decay: 5e-4, scale: 0.37 },
      ];
      const params = () => [[w, g, v], [g, v, w], [v, w, g]].map(([a, b, d], i) => ({ w: tf.tensor(a), g: tf.tensor(b), v: tf.tensor(d), c: c[i] }));
      const before = nativeKernelCalls().SphereFaceSgdMomentum.native;
      const native = await onBackend('native', () => sgdMomentum(params()).flat());
      expect(nativeKernelCalls().SphereFaceSgdMomentum.native).toBe(before + 1);
      const ref = await onBackend('cpu', () => params().flatMap((u) => sgdMomentumOps(u.w, u.g, u.v, u.c)));
      expect(native.length).toBe(6);
      native.forEach((t, i) => expect(t.values.every((x, j) => Object.is(x, ref[i].values[j])), `output ${i}`).toBe(true));
    });
  }
});
