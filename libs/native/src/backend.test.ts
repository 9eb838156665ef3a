import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { NATIVE_BACKEND, registerNativeBackend } from './backend';
import { loadNativeAddon } from './loader';
import { describeNative, unavailable } from './testing/native';

it('loadNativeAddon returns a reason naming the file when the addon is missing', () => {
  const r = loadNativeAddon('/nonexistent/sphereface_native.node');
  expect(typeof r).toBe('string');
  expect(r).toContain('/nonexistent/sphereface_native.node');
});

it('registerNativeBackend throws the loader reason when the addon is unavailable', () => {
  if (unavailable) expect(() => registerNativeBackend()).toThrow(unavailable);
  else expect(registerNativeBackend().backend).toBe(NATIVE_BACKEND);
});

describeNative('native backend', () => {
  beforeAll(async () => {
    registerNativeBackend();
    expect(await tf.setBackend(NATIVE_BACKEND)).toBe(true);
  });

  it('is idempotent and reports oneDNN version and threads', () => {
    const a = registerNativeBackend(), b = registerNativeBackend();
    expect(a).toBe(b);
    expect(a.dnnl).toMatch(/^\d+\.\d+\.\d+$/);
    expect(a.threads).toBeGreaterThanOrEqual(1);
  });

  it('has every cpu kernel', () => {
    const missing = tf.getKernelsForBackend('cpu').filter((k) => !tf.getKernel(k.kernelName, NATIVE_BACKEND));
    expect(missing.map((k) => k.kernelName)).toEqual([]);
  });

  it('recycled output buffers never overwrite data handed out by reads', () => {
    const x = tf.ones([1000]), y = tf.fill([1000], 2);
    const sum = tf.add(x, y); // an addon output, recycled once disposed
    const read = sum.dataSync();
    sum.dispose();
    const later = [tf.mul(x, y), tf.sub(x, y)]; // same length: these reuse sum's buffer
    expect(Array.from(read.subarray(0, 3))).toEqual([3, 3, 3]);
    expect(Array.from(later[0].dataSync().subarray(0, 2))).toEqual([2, 2]);
    tf.dispose([x, y, ...later]);
  });

  it('a buffer stays out of the pool while a view of it (cpu Slice) is alive', () => {
    const x = tf.ones([1000]), y = tf.fill([1000], 2);
    const sum = tf.add(x, y);
    const head = tf.slice(sum, [0], [10]); // the cpu kernel shares sum's array for a contiguous slice
    sum.dispose();
    const later = [tf.mul(x, y), tf.sub(x, y)];
    expect(Array.from(head.dataSync())).toEqual(new Array(10).fill(3));
    tf.dispose([x, y, head, ...later]);
  });

  it('kernels leak no tensors', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([2, 6, 5, 3]);
      tf.grads((a: tf.Tensor) => tf.sum(tf.prelu(tf.conv2d(a as tf.Tensor4D, tf.ones([3, 3, 3, 4]), 2, 'same'), tf.fill([1, 1, 1, 4], 0.25) as tf.Tensor4D)))([x]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
