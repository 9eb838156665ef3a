import * as tf from '@tensorflow/tfjs';
import { describe, expect } from 'vitest';
import { loadNativeAddon } from '../loader';

/** Set in CI (which installs libdnnl-dev): a missing addon then fails the suite instead of skipping it. */
export const REQUIRED_ENV = 'SPHEREFACE_NATIVE_REQUIRED';

const addon = loadNativeAddon();
export const unavailable: string | null = typeof addon === 'string' ? addon : null;
if (unavailable && process.env[REQUIRED_ENV] === '1') {
  throw new Error(`@sphereface/native tests: ${REQUIRED_ENV}=1 but the addon is unavailable: ${unavailable}`);
}
if (unavailable) console.warn(`[@sphereface/native] native tests skipped: ${unavailable}`);

/** describe() that skips, naming the reason, when the addon is not built. */
export const describeNative = (name: string, fn: () => void) =>
  unavailable ? describe.skip(`${name} (skipped: ${unavailable})`, fn) : describe(name, fn);

/** Uniform(-1, 1) values. */
export function randArray(rng: () => number, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng() * 2 - 1);
}

/** Runs f on a backend (asserting tfjs really switched) and returns its outputs as plain arrays, leak-checked. */
export async function onBackend(backend: string, f: () => tf.Tensor[]): Promise<{ shape: number[]; values: Float32Array }[]> {
  expect(await tf.setBackend(backend)).toBe(true);
  expect(tf.getBackend()).toBe(backend);
  const before = tf.memory().numTensors;
  // Copied out after the tidy: a tidy walks its result's containers key by key, which is slow for big typed arrays.
  const tensors = tf.tidy(f);
  const out = tensors.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
  tf.dispose(tensors);
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

/** max |a − b| / max |b|: the backends differ by float32 summation order only. */
export function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}
