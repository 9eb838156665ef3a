import { mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { registerNativeBackend } from './backend';
import { nativeKernelCalls } from './kernels';
import { loadNativeAddon, type NativeAddon } from './loader';
import { describeNative, onBackend, randArray, relErr } from './testing/native';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
type Out = { shape: number[]; values: Float32Array }[];

/** Runs f on native and cpu (leak-checked), returning both; asserts the given kernels' native and fallback counts grew by these. */
async function both(f: () => tf.Tensor[], counts: Record<string, { native?: number; fallback?: number }>): Promise<[Out, Out]> {
  const before = nativeKernelCalls();
  const native = await onBackend('native', f);
  const after = nativeKernelCalls();
  for (const [kernel, want] of Object.entries(counts)) {
    const grew = { native: after[kernel].native - before[kernel].native, fallback: after[kernel].fallback - before[kernel].fallback };
    if (want.native !== undefined) expect(grew.native, `${kernel} native calls`).toBe(want.native);
    else expect(grew.native, `${kernel} ran through the addon`).toBeGreaterThan(0);
    expect(grew.fallback, `${kernel} cpu fallbacks`).toBe(want.fallback ?? 0);
  }
  const cpu = await onBackend('cpu', f);
  expect(native.map((t) => t.shape)).toEqual(cpu.map((t) => t.shape));
  return [native, cpu];
}

/** Bit for bit (−0 ≠ +0), any NaN equal to any NaN. */
function expectIdentical(a: Float32Array, b: Float32Array, what: string): void {
  expect(a.length).toBe(b.length);
  let bad = 0, first = -1;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    if (first < 0) first = i;
    bad++;
  }
  expect(bad, `${what}: ${bad} elements differ, first at ${first}: ${a[first]} vs ${b[first]}`).toBe(0);
}

describeNative('native ReLU and pooling kernels against the cpu backend', () => {
  let addon: NativeAddon;
  beforeAll(() => {
    registerNativeBackend();
    addon = loadNativeAddon() as NativeAddon;
  });

  const rng = mulberry32(11);
  /** Values with −0, ±Infinity and NaN among them. */
  const special = (n: number) => {
    const v = randArray(rng, n);
    const specials = [-0, 0, NaN, Infinity, -Infinity, 6, 7, -6];
    for (let i = 0; i < n; i += 7) v[i] = specials[(i / 7) % specials.length];
    return v;
  };

  it('Relu, Relu6, Step bit for bit (−0, NaN, ±Infinity), on the one-thread and the parallel path', async () => {
    for (const n of [1, 1000, (1 << 22) + 13]) {
      const x = special(n);
      const [native, cpu] = await both(
        () => { const t = tf.tensor1d(x); return [tf.relu(t), tf.relu6(t), tf.step(t), tf.step(t, -0.25)]; },
        { Relu: { native: 1 }, Relu6: { native: 1 }, Step: { native: 2 } },
      );
      native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `output ${i} at n = ${n}`));
    }
  });

  it("Relu's gradient (tfjs: dy · step(x)) runs Step and Multiply natively; Relu6's matches", async () => {
    const x = special(2 * 9 * 7 * 5), r = randArray(rng, x.length);
    const grad = (relu: (a: tf.Tensor) => tf.Tensor) => () => {
      const xt = tf.tensor4d(x, [2, 9, 7, 5]), rt = tf.tensor4d(r, [2, 9, 7, 5]);
      return tf.grads((a: tf.Tensor) => tf.sum(tf.mul(relu(a), rt)))([xt]);
    };
    let [native, cpu] = await both(grad(tf.relu), { Relu: { native: 1 }, Step: { native: 1 }, Multiply: {} });
    expectIdentical(native[0].values, cpu[0].values, 'relu gradient');
    // Relu6's gradient multiplies by a cast of LessEqual's bool output, which the cpu Cast leaves a Uint8Array (the
    // cpu Multiply takes that one).
    [native, cpu] = await both(grad(tf.relu6), { Relu6: { native: 1 }, Step: { native: 1 } });
    expectIdentical(native[0].values, cpu[0].values, 'relu6 gradient');
  });

  it('Relu of int32 goes to the cpu kernel', async () => {
    const [native, cpu] = await both(() => [tf.relu(tf.tensor1d([-3, 0, 4], 'int32')).toFloat()], { Relu: { native: 0, fallback: 1 } });
    expectIdentical(native[0].values, cpu[0].values, 'int32 relu');
  });

  // 2×2/2 and 3×3/2, 3×3/1, 'same' and 'valid', on even and odd sizes, several channel counts (vector bodies and tails).
  const cases: { h: number; w: number; c: number; k: number; s: number; pad: Pad }[] = [];
  const channels = [1, 3, 8, 17, 64];
  for (const [k, s] of [[2, 2], [3, 2], [3, 1]]) {
    for (const pad of ['same', 'valid'] as Pad[]) {
      for (const [h, w] of [[8, 6], [7, 9], [10, 11]]) cases.push({ h, w, c: channels[cases.length % channels.length], k, s, pad });
    }
  }
  // Explicit padding below the window size (a Caffe-style pad 1 around 3×3/2 pooling), and non-square windows/strides.
  cases.push({ h: 9, w: 8, c: 5, k: 3, s: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] });
  cases.push({ h: 9, w: 8, c: 6, k: 3, s: 2, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] });

  for (const c of cases) {
    const name = `${c.k}×${c.k} stride ${c.s} pad ${JSON.stringify(c.pad)} on ${c.h}×${c.w}×${c.c}`;
    for (const ties of [false, true]) {
      it(`MaxPool, AvgPool and their gradients: ${name}${ties ? ', values with many ties (max routing)' : ''}`, async () => {
        const n = 2;
        // Ties: a few distinct values (−0 and 0 among them), so most windows hold their maximum more than once.
        const x = ties ? randArray(rng, n * c.h * c.w * c.c).map((v) => Math.round(v * 2) / 2 || (v < 0 ? -0 : 0)) : randArray(rng, n * c.h * c.w * c.c);
        const r = randArray(rng, n * c.h * c.w * c.c);
        const [native, cpu] = await both(() => {
          const xt = tf.tensor4d(x, [n, c.h, c.w, c.c]);
          const max = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad);
          const avg = (a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, c.k, c.s, c.pad);
          const [ym, ya] = [max(xt), avg(xt)];
          const rt = tf.tensor(r.subarray(0, ym.size), ym.shape);
          const [gm] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(max(a), rt)))([xt]);
          const [ga] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(avg(a), rt)))([xt]);
          return [ym, ya, gm, ga];
        }, { MaxPool: {}, AvgPool: {}, MaxPoolGrad: { native: 1 }, AvgPoolGrad: { native: 1 } });
        expectIdentical(native[0].values, cpu[0].values, 'max pooling');
        // The rest differ by float32 rounding only: oneDNN sums in float32, tfjs's loops in double.
        expect(relErr(native[1].values, cpu[1].values), 'average pooling').toBeLessThan(1e-6);
        expect(relErr(native[2].values, cpu[2].values), 'max pooling gradient').toBeLessThan(1e-6);
        expect(relErr(native[3].values, cpu[3].values), 'average pooling gradient').toBeLessThan(1e-6);
      });
    }
  }

  it('max pooling skips NaN as tfjs does; windows of only -Infinity/NaN go to the cpu kernel (tfjs gives -Infinity)', async () => {
    const [h, w, ch] = [6, 6, 19];
    // NaN and -Infinity before and after finite values in the windows, each 2×2 window's last element finite.
    const mixed = randArray(rng, h * w * ch).map((v, i) => {
      const [r, c] = [Math.floor(i / (w * ch)), Math.floor(i / ch) % w];
      return r % 2 && c % 2 ? v : i % 3 === 0 ? NaN : i % 3 === 1 ? -Infinity : v;
    });
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' as const };
    const run = (x: Float32Array) => () => {
      const xt = tf.tensor4d(x, [1, h, w, ch]), y = tf.maxPool(xt, 2, 2, 'valid');
      const dy = tf.tensor(randArray(mulberry32(3), y.size), y.shape);
      return [y, tf.engine().runKernel('MaxPoolGrad', { dy, input: xt, output: y }, attrs) as tf.Tensor];
    };
    let [native, cpu] = await both(run(mixed), { MaxPool: { native: 1 }, MaxPoolGrad: { native: 1 } });
    native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `NaN among values, output ${i}`));
    // One window (channel 4 at output row 1, column 2) holds only -Infinity and NaN.
    const empty = mixed.slice();
    for (const [r, c] of [[2, 4], [2, 5], [3, 4], [3, 5]]) empty[(r * w + c) * ch + 4] = (r + c) % 2 ? NaN : -Infinity;
    [native, cpu] = await both(run(empty), { MaxPool: { native: 0, fallback: 1 }, MaxPoolGrad: { native: 0, fallback: 1 } });
    expect(cpu[0].values[(1 * 3 + 2) * ch + 4]).toBe(-Infinity);
    native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `-Infinity/NaN window, output ${i}`));
  });

  it('falls back to the cpu kernel for ceil rounding, windows past the input, 1×1 stride 1, int32', async () => {
    const x = randArray(rng, 2 * 8 * 7 * 3);
    // 8×7, 3×3, stride 2, pad 0: (8 − 3)/2 + 1 = 3.5 rows, which 'ceil' makes 4 and oneDNN's floor 3.
    let [native, cpu] = await both(
      () => [tf.maxPool(tf.tensor4d(x, [2, 8, 7, 3]), 3, 2, 0, 'ceil'), tf.avgPool(tf.tensor4d(x, [2, 8, 7, 3]), 3, 2, 0, 'ceil')],
      { MaxPool: { native: 0, fallback: 1 }, AvgPool: { native: 0, fallback: 1 } },
    );
    native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `ceil, output ${i}`));
    // Pad 2 around 2×2 windows: the corner windows hold padding only (cpu: -Infinity for max, NaN for the average).
    [native, cpu] = await both(
      () => [tf.maxPool(tf.tensor4d(x, [2, 8, 7, 3]), 2, 2, 2), tf.avgPool(tf.tensor4d(x, [2, 8, 7, 3]), 2, 2, 2)],
      { MaxPool: { native: 0, fallback: 1 }, AvgPool: { native: 0, fallback: 1 } },
    );
    native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `pad ≥ window, output ${i}`));
    // floor rounding with a number pad is handled
    await both(() => [tf.maxPool(tf.tensor4d(x, [2, 8, 7, 3]), 3, 2, 1, 'floor')], { MaxPool: { native: 1 } });
    [native, cpu] = await both(
      () => [tf.maxPool(tf.tensor4d(x, [2, 8, 7, 3]), 1, 1, 'same'), tf.maxPool(tf.tensor4d(Int32Array.from(x, (v) => v * 9), [2, 8, 7, 3]), 2, 2, 'same').toFloat()],
      { MaxPool: { native: 0, fallback: 2 } },
    );
    native.forEach((t, i) => expectIdentical(t.values, cpu[i].values, `identity / int32, output ${i}`));
  });

  it('3-D input (tfjs reshapes it to a batch of 1) and the oneDNN implementation used', async () => {
    const x = randArray(rng, 11 * 10 * 16);
    const [native, cpu] = await both(() => [tf.maxPool(tf.tensor3d(x, [11, 10, 16]), 3, 2, 'same'), tf.avgPool(tf.tensor3d(x, [11, 10, 16]), 3, 2, 'same')], {
      MaxPool: { native: 1 }, AvgPool: { native: 1 },
    });
    expectIdentical(native[0].values, cpu[0].values, 'max');
    expect(relErr(native[1].values, cpu[1].values)).toBeLessThan(1e-6);
    // A jit implementation on x86 (a reference one would be slower than tfjs's loops).
    for (const kind of [0, 1, 2]) for (const backward of [false, true]) {
      expect(addon.poolImpl([1, 75, 75, 64, 3, 3, 38, 38, 2, 2, 1, 1, 1, 1], kind, backward)).toMatch(/^jit/);
    }
  });
});
