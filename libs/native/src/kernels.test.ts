import { mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { nativeConvAlgorithms, registerNativeBackend, setNativeWinograd, type NativeBackendLike } from './backend';
import { loadNativeAddon, type NativeAddon } from './loader';
import { broadcastInner, nativeKernelCalls } from './kernels';
import { describeNative, onBackend, randArray, relErr } from './testing/native';

// Float32 sums of up to a few hundred products: oneDNN and the cpu backend differ by summation order only.
const TOL = 1e-4;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
/** SphereConv2D emits pad [[0,0],[1,1],[1,1],[0,0]] (Caffe pad 1); tfjs-layers convs emit 'same'/'valid'. */
const CAFFE: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** Asserts that running f made oneDNN calls of `kernel`, and no cpu fallbacks of it. */
function expectNative<T>(kernel: string, f: () => Promise<T>): Promise<T> {
  const before = nativeKernelCalls()[kernel];
  return f().then((r) => {
    const after = nativeKernelCalls()[kernel];
    expect(after.native, `${kernel} ran through the addon`).toBeGreaterThan(before.native);
    expect(after.fallback, `${kernel} did not fall back to cpu`).toBe(before.fallback);
    return r;
  });
}

async function compare(f: () => tf.Tensor[], tol = TOL): Promise<void> {
  const native = await onBackend('native', f);
  const cpu = await onBackend('cpu', f);
  expect(native.map((t) => t.shape)).toEqual(cpu.map((t) => t.shape));
  native.forEach((t, i) => expect(relErr(t.values, cpu[i].values), `output ${i}`).toBeLessThan(tol));
}

describeNative('native kernels against the cpu backend', () => {
  beforeAll(() => {
    registerNativeBackend();
  });

  const rng = mulberry32(7);
  const convCases: { h: number; w: number; ci: number; co: number; k: number; stride: number; pad: Pad }[] = [];
  for (const stride of [1, 2]) {
    for (const pad of [CAFFE, 'same', 'valid'] as Pad[]) {
      for (const [h, w] of [[8, 6], [7, 9], [8, 7]]) convCases.push({ h, w, ci: 1 + Math.floor(rng() * 6), co: 1 + Math.floor(rng() * 9), k: 3, stride, pad });
    }
  }
  convCases.push({ h: 9, w: 8, ci: 4, co: 6, k: 1, stride: 1, pad: 'valid' }, { h: 11, w: 10, ci: 3, co: 5, k: 5, stride: 2, pad: 'same' });

  for (const c of convCases) {
    const name = `${c.k}×${c.k} stride ${c.stride} pad ${JSON.stringify(c.pad)} on ${c.h}×${c.w}×${c.ci} → ${c.co}`;
    const n = 2;
    const x = randArray(rng, n * c.h * c.w * c.ci), w = randArray(rng, c.k * c.k * c.ci * c.co), b = randArray(rng, c.co);
    const r = randArray(rng, n * (c.h + 2) * (c.w + 2) * c.co); // weights of the scalar loss, cut to the output size

    it(`Conv2D + Conv2DBackpropInput + Conv2DBackpropFilter: ${name}`, async () => {
      const f = () => {
        const xt = tf.tensor4d(x, [n, c.h, c.w, c.ci]), wt = tf.tensor4d(w, [c.k, c.k, c.ci, c.co]);
        const conv = (a: tf.Tensor, k: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, k as tf.Tensor4D, c.stride, c.pad);
        const y = conv(xt, wt);
        const rt = tf.tensor(r.subarray(0, y.size), y.shape);
        const [dx, dw] = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(conv(a, k), rt)))([xt, wt]);
        return [y, dx, dw];
      };
      await expectNative('Conv2D', () => expectNative('Conv2DBackpropInput', () => expectNative('Conv2DBackpropFilter', () => compare(f))));
    });

    it(`FusedConv2D (bias, as SphereConv2D) and its gradients: ${name}`, async () => {
      const f = () => {
        const xt = tf.tensor4d(x, [n, c.h, c.w, c.ci]), wt = tf.tensor4d(w, [c.k, c.k, c.ci, c.co]), bt = tf.tensor1d(b);
        const conv = (a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: bb });
        const y = conv(xt, wt, bt);
        const rt = tf.tensor(r.subarray(0, y.size), y.shape);
        return [y, ...tf.grads((a: tf.Tensor, k: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(conv(a, k, bb), rt)))([xt, wt, bt])];
      };
      await expectNative('FusedConv2D', () => compare(f));
    });
  }

  // oneDNN 2.6 has Winograd convolutions for AVX-512 only; elsewhere the same shapes run direct.
  const avx512 = / avx512f/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  it(`3×3 stride-1 convolutions on maps of 6×6 or more: Winograd${avx512 ? '' : ' (no AVX-512 here: direct)'} within the direct algorithm's bound, and direct when turned off`, async () => {
    // SphereFace-20's residual convs in small: 32 channels, Caffe padding, 14×12 and 7×6 maps (the smallest Winograd takes).
    for (const [h, w, ch] of [[14, 12, 32], [7, 6, 64]]) {
      const x = randArray(rng, 2 * h * w * ch), k = randArray(rng, 9 * ch * ch), r = randArray(rng, 2 * h * w * ch);
      const f = () => {
        const xt = tf.tensor4d(x, [2, h, w, ch]), kt = tf.tensor4d(k, [3, 3, ch, ch]), rt = tf.tensor4d(r, [2, h, w, ch]);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, CAFFE);
        return [conv(xt, kt), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), rt)))([xt, kt])];
      };
      for (const winograd of [true, false]) {
        setNativeWinograd(winograd);
        const before = nativeConvAlgorithms();
        try {
          await compare(f);
        } finally {
          setNativeWinograd(true);
        }
        const after = nativeConvAlgorithms();
        const expectWinograd = winograd && avx512;
        // Two forwards (the output, and the one tf.grads records), the input and the filter gradient: four calls, one algorithm.
        expect(after.winograd - before.winograd, `${h}×${w}×${ch}, winograd ${winograd}`).toBe(expectWinograd ? 4 : 0);
        expect(after.direct - before.direct, `${h}×${w}×${ch}, winograd ${winograd}`).toBe(expectWinograd ? 0 : 4);
      }
    }
  });

  it('stride-2 convolutions and maps under 6×6 stay direct', async () => {
    const x = randArray(rng, 2 * 8 * 6 * 32), k = randArray(rng, 9 * 32 * 32), x5 = randArray(rng, 2 * 5 * 9 * 32);
    const before = nativeConvAlgorithms();
    await compare(() => [tf.conv2d(tf.tensor4d(x, [2, 8, 6, 32]), tf.tensor4d(k, [3, 3, 32, 32]), 2, CAFFE)]);
    await compare(() => [tf.conv2d(tf.tensor4d(x5, [2, 5, 9, 32]), tf.tensor4d(k, [3, 3, 32, 32]), 1, CAFFE)]);
    const after = nativeConvAlgorithms();
    expect(after.winograd).toBe(before.winograd);
    expect(after.direct - before.direct).toBe(2);
  });

  it('FusedConv2D with relu and prelu activations', async () => {
    const x = randArray(rng, 2 * 7 * 6 * 3), w = randArray(rng, 9 * 3 * 4), b = randArray(rng, 4), alpha = randArray(rng, 4);
    for (const activation of ['relu', 'prelu'] as const) {
      await expectNative('FusedConv2D', () =>
        compare(() => [
          tf.fused.conv2d({
            x: tf.tensor4d(x, [2, 7, 6, 3]), filter: tf.tensor4d(w, [3, 3, 3, 4]), strides: 2, pad: CAFFE, bias: tf.tensor1d(b),
            activation, preluActivationWeights: activation === 'prelu' ? tf.tensor3d(alpha, [1, 1, 4]) : undefined,
          }),
        ]),
      );
    }
  });

  it('falls back to the cpu kernel for what oneDNN does not take (NCHW, ceil rounding)', async () => {
    const x = randArray(rng, 2 * 3 * 7 * 6), w = randArray(rng, 9 * 3 * 4);
    const before = nativeKernelCalls().Conv2D.fallback;
    await compare(() => [tf.conv2d(tf.tensor4d(x, [2, 3, 7, 6]), tf.tensor4d(w, [3, 3, 3, 4]), 1, 'same', 'NCHW')]);
    // 8×6 input, 3×3, stride 2, pad 0: (8 − 3)/2 + 1 = 3.5 rows, which 'ceil' makes 4 and oneDNN's floor 3.
    const x8 = randArray(rng, 2 * 8 * 6 * 3);
    await compare(() => [tf.conv2d(tf.tensor4d(x8, [2, 8, 6, 3]), tf.tensor4d(w, [3, 3, 3, 4]), 2, 0, 'NHWC', 1, 'ceil')]);
    expect(nativeKernelCalls().Conv2D.fallback).toBe(before + 2);
  });

  const matmulCases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [4, 5, 6], b: [4, 6, 2], ta: false, tb: false },
    { a: [4, 6, 5], b: [1, 6, 2], ta: true, tb: false },
    { a: [1, 5, 6], b: [3, 2, 6], ta: false, tb: true },
  ];
  for (const c of matmulCases) {
    it(`BatchMatMul and gradients: ${JSON.stringify(c.a)}${c.ta ? 'ᵀ' : ''} × ${JSON.stringify(c.b)}${c.tb ? 'ᵀ' : ''}`, async () => {
      const a = randArray(rng, c.a.reduce((p, q) => p * q)), b = randArray(rng, c.b.reduce((p, q) => p * q));
      const f = () => {
        const at = tf.tensor(a, c.a), bt = tf.tensor(b, c.b);
        const mm = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q, c.ta, c.tb);
        const y = mm(at, bt);
        const rt = tf.tensor(randArray(mulberry32(y.size), y.size), y.shape);
        // tfjs's BatchMatMul gradient does not reduce broadcast batch dims (on any backend): forward only there.
        if (c.a.length === 3 && c.a[0] !== c.b[0]) return [y];
        return [y, ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(mm(p, q), rt)))([at, bt])];
      };
      await expectNative('BatchMatMul', () => compare(f));
    });
  }

  it('_FusedMatMul (bias, relu) as tf.layers.dense emits it, with gradients', async () => {
    const a = randArray(rng, 6 * 10), b = randArray(rng, 10 * 4), bias = randArray(rng, 4);
    for (const activation of ['linear', 'relu'] as const) {
      const f = () => {
        const [at, bt, ct] = [tf.tensor2d(a, [6, 10]), tf.tensor2d(b, [10, 4]), tf.tensor1d(bias)];
        const mm = (p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: s, activation });
        return [mm(at, bt, ct), ...tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.square(mm(p, q, s))))([at, bt, ct])];
      };
      await expectNative('_FusedMatMul', () => compare(f));
    }
  });

  it('Prelu (per-channel alpha, as SphereFace PReLU layers) and its gradients through the native gradient kernel', async () => {
    const x = randArray(rng, 2 * 5 * 4 * 6), alpha = randArray(rng, 6), r = randArray(rng, x.length);
    const f = () => {
      const [xt, at, rt] = [tf.tensor4d(x, [2, 5, 4, 6]), tf.tensor3d(alpha, [1, 1, 6]), tf.tensor4d(r, [2, 5, 4, 6])];
      return [tf.prelu(xt, at as tf.Tensor as tf.Tensor4D), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.prelu(p, q), rt)))([xt, at])];
    };
    await expectNative('Prelu', () => expectNative('SphereFaceNativePreluGrad', () => compare(f)));
  });

  it('element-wise Add/Sub/Multiply/RealDiv: same shape, scalar on either side, trailing, per-row and middle broadcast', async () => {
    const a = randArray(rng, 3 * 4 * 5), b = randArray(rng, 3 * 4 * 5).map((v) => v + Math.sign(v)); // |b| ≥ 1 for RealDiv
    const shapes: [number[], number[]][] = [
      [[3, 4, 5], [3, 4, 5]], [[3, 4, 5], []], [[], [3, 4, 5]], [[3, 4, 5], [5]], [[4, 5], [3, 4, 5]], [[3, 4, 5], [1, 1, 5]],
      [[3, 4, 5], [3, 1, 1]], [[3, 1], [3, 20]], [[3, 4, 5], [4, 1]], [[1, 4, 1], [3, 4, 5]], [[12, 5], [12, 1]],
    ];
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) {
      for (const [sa, sb] of shapes) {
        const take = (v: Float32Array, s: number[]) => tf.tensor(v.subarray(0, s.reduce((p, q) => p * q, 1)), s);
        await compare(() => [op(take(a, sa), take(b, sb))]);
      }
    }
    expect(nativeKernelCalls().RealDiv.native).toBeGreaterThanOrEqual(shapes.length);
    expect(nativeKernelCalls().RealDiv.fallback).toBe(0);
  });

  it('broadcastInner: the run of matching axes and the size after it; null when the pattern does not hold', () => {
    expect(broadcastInner([3, 4, 5], [])).toBe(1);
    expect(broadcastInner([3, 4, 5], [1, 1, 5])).toBe(1);
    expect(broadcastInner([3, 4, 5], [4, 1])).toBe(5);
    expect(broadcastInner([3, 4, 5], [3, 1, 1])).toBe(20);
    expect(broadcastInner([3, 4, 5], [3, 4, 5])).toBe(1);
    expect(broadcastInner([3, 4, 5], [3, 1, 5])).toBeNull();
    expect(broadcastInner([3, 4, 5], [2, 5])).toBeNull();
    expect(broadcastInner([4, 5], [3, 4, 5])).toBeNull();
  });

  it('GatherV2 along each axis with 1-D and 2-D indices, and its gradient; out-of-range indices still throw', async () => {
    const x = randArray(rng, 4 * 5 * 6);
    for (const [axis, idx, idxShape] of [[0, [3, 0, 3], [3]], [1, [4, 1, 0, 2], [2, 2]], [2, [5, 0], [2]], [-1, [1], [1]]] as [number, number[], number[]][]) {
      await expectNative('GatherV2', () =>
        compare(() => {
          const xt = tf.tensor3d(x, [4, 5, 6]), it = tf.tensor(idx, idxShape, 'int32');
          return [tf.gather(xt, it, axis), tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.gather(v, it, axis))))(xt)];
        }),
      );
    }
    expect(await tf.setBackend('native')).toBe(true);
    expect(() => tf.tidy(() => tf.gather(tf.tensor2d(x.subarray(0, 20), [4, 5]), tf.tensor1d([5], 'int32'), 1).dataSync())).toThrow(/not in \[0, 4\]/);
  });

  it('Reverse along each single axis (and negative axes), bit for bit; several axes go to the cpu kernel', async () => {
    const x = randArray(rng, 2 * 3 * 5 * 17);
    for (const axis of [0, 1, 2, 3, -2]) {
      await expectNative('Reverse', () => compare(() => [tf.reverse(tf.tensor4d(x, [2, 3, 5, 17]), axis)], Number.MIN_VALUE));
    }
    const before = nativeKernelCalls().Reverse.fallback;
    await compare(() => [tf.reverse(tf.tensor4d(x, [2, 3, 5, 17]), [1, 2])], Number.MIN_VALUE);
    expect(nativeKernelCalls().Reverse.fallback).toBe(before + 1);
  });

  it('Sum over leading, trailing and all axes (keepDims too), Square', async () => {
    const x = randArray(rng, 3 * 4 * 5 * 6);
    for (const [axis, keepDims] of [[[0, 1, 2], false], [[2, 3], false], [null, false], [[0], true], [[3], true], [[1, 2], false]] as [number[] | null, boolean][]) {
      await compare(() => [tf.sum(tf.tensor4d(x, [3, 4, 5, 6]), axis ?? undefined, keepDims)]);
    }
    await expectNative('Square', () => compare(() => [tf.square(tf.tensor1d(x))]));
  });
});

describeNative('reordered activations kept between a convolution and its gradients', () => {
  beforeAll(() => {
    registerNativeBackend();
  });
  const addon = loadNativeAddon() as NativeAddon;
  const rng = mulberry32(21);
  const [n, h, w, c, o] = [2, 8, 6, 16, 16]; // 16 channels: oneDNN picks a blocked layout, so reorders happen
  const filter = randArray(rng, 9 * c * o);

  /** conv output and both gradients, with x made by a native kernel (an array the backend recycles). */
  const convAndGrads = (x0: Float32Array) => () => {
    const x = tf.mul(tf.tensor4d(x0, [n, h, w, c]), 1) as tf.Tensor4D;
    const k = tf.tensor4d(filter, [3, 3, c, o]);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, CAFFE);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv(a, b))))([x, k]);
    return [conv(x, k), dx, dw];
  };

  it('reuses the forward reorder of x and the input-gradient reorder of dy in the filter gradient', async () => {
    const before = addon.reorderStats();
    await compare(convAndGrads(randArray(rng, n * h * w * c)));
    const after = addon.reorderStats();
    expect(after.hits - before.hits, 'x and dy reused once each').toBeGreaterThanOrEqual(2);
    expect(after.keptBytes, 'nothing kept once the tensors are disposed').toBe(0);
  });

  it('never serves a copy of a disposed array whose storage was recycled for new data', async () => {
    expect(await tf.setBackend('native')).toBe(true);
    const shape = [n, h, w, c] as [number, number, number, number];
    const k = tf.tensor4d(filter, [3, 3, c, o]);
    // First data: forward only, so its reorder stays kept until x1 is disposed.
    const x1 = tf.mul(tf.tensor4d(randArray(rng, n * h * w * c), shape), 1);
    const y1 = tf.conv2d(x1 as tf.Tensor4D, k, 1, CAFFE);
    expect(addon.reorderStats().keptBytes).toBeGreaterThan(0);
    const storage = (tf.backend() as unknown as NativeBackendLike).data.get(x1.dataId).values;
    y1.dispose();
    x1.dispose(); // last, so its array is the first the pool hands out again
    // New data in the recycled array: results must match cpu.
    const x2 = randArray(rng, n * h * w * c);
    const reused = tf.tidy(() => {
      const t = tf.mul(tf.tensor4d(x2, shape), 1);
      return (tf.backend() as unknown as NativeBackendLike).data.get(t.dataId).values === storage;
    });
    k.dispose();
    expect(reused, 'the backend recycled the first array (else this test proves nothing)').toBe(true);
    await compare(convAndGrads(x2));
  });
});
