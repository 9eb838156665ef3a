import { mulberry32 } from '@sphereface/common';
import { assembleBatch, memoryCrops, type CropSource } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerNativeBackend } from '@sphereface/native';
import { describeNative } from '@sphereface/native/testing';
import { selectBackend } from './backend';
import { embedCrops, extractEmbeddings, PREDICT_BATCH_SIZE } from './embed';
import { createModel } from './sphereface';

describe('extractEmbeddings', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });

  it('none | sum | concat of the image and its mirror, batched, without leaks', () => {
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    const x = tf.randomNormal([5, 28, 24, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const none = extractEmbeddings(model, x, 'none', 2);
    const sum = extractEmbeddings(model, x, 'sum', 2);
    const concat = extractEmbeddings(model, x, 'concat', 3);
    expect(none.shape).toEqual([5, 512]);
    expect(sum.shape).toEqual([5, 512]);
    expect(concat.shape).toEqual([5, 1024]);
    const close = (a: tf.Tensor, b: tf.Tensor) => expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBeLessThan(1e-4);
    tf.tidy(() => {
      const flipped = model.predict(tf.reverse(x, 2)) as tf.Tensor;
      close(none, model.predict(x) as tf.Tensor);
      close(tf.slice(concat, [0, 0], [-1, 512]), none);
      close(tf.slice(concat, [0, 512], [-1, 512]), flipped);
      close(sum, tf.add(none, flipped));
    });
    tf.dispose([none, sum, concat]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => extractEmbeddings(model, x, 'mean' as never)).toThrow(/none\|sum\|concat/);
    x.dispose();
    model.dispose();
  });
});

/**
 * embedCrops before it assembled the mirrored batch itself: chunks of 256 crops (centre windows) as a normalised
 * tensor, extractEmbeddings(…, 'concat') (tf.slice, tf.reverse, tf.concat), the [f, g] rows split into original and
 * flipped. The features a run wrote until then (lfw-features.f32, train-features.f32).
 */
function embedCropsReference(backbone: tf.LayersModel, crops: CropSource, margin = 0): { original: Float32Array; flipped: Float32Array } {
  const n = crops.count, height = crops.height - 2 * margin, width = crops.width - 2 * margin;
  const rows: Float32Array[] = [];
  for (let start = 0; start < n; start += 256) {
    const count = Math.min(256, n - start);
    const plan = { indices: Int32Array.from({ length: count }, (_, i) => start + i), flips: new Uint8Array(count), height, width, corners: new Int16Array(2 * count).fill(margin) };
    const images = tf.tensor4d(assembleBatch(crops, plan), [count, height, width, 3]);
    const fused = extractEmbeddings(backbone, images, 'concat');
    rows.push(fused.dataSync() as Float32Array);
    tf.dispose([images, fused]);
  }
  const all = new Float32Array(rows.reduce((k, r) => k + r.length, 0));
  rows.reduce((at, r) => (all.set(r, at), at + r.length), 0);
  const dim = all.length / n / 2;
  const original = new Float32Array(n * dim), flipped = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    original.set(all.subarray(2 * i * dim, (2 * i + 1) * dim), i * dim);
    flipped.set(all.subarray((2 * i + 1) * dim, (2 * i + 2) * dim), i * dim);
  }
  return { original, flipped };
}

const randomCrops = (count: number, height: number, width: number, seed: number) => {
  const rng = mulberry32(seed);
  return memoryCrops(Uint8Array.from({ length: count * height * width * 3 }, () => Math.floor(rng() * 256)), height, width);
};

/** The same bits as the reference on the active backend (wasm here; native, what runs embed, below). */
function sameBitsCases() {
  it.each([
    { what: 'whole crops, 64 + 6 (predict ran the 64 as 32 + 32)', count: 2 * PREDICT_BATCH_SIZE + 6, margin: 0 },
    { what: 'centre windows with a margin (training features), 1 partial batch', count: 9, margin: 2 },
  ])('$what: the same bits as the tf.reverse / concat path, without leaks', ({ count, margin }) => {
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    const crops = randomCrops(count, 28 + 2 * margin, 24 + 2 * margin, 5);
    const before = tf.memory().numTensors;
    const got = embedCrops(model, crops, { margin });
    expect(tf.memory().numTensors).toBe(before);
    const want = embedCropsReference(model, crops, margin);
    expect(got.dim).toBe(512);
    expect(got.original.length).toBe(count * 512);
    expect(Buffer.from(got.original.buffer).equals(Buffer.from(want.original.buffer))).toBe(true);
    expect(Buffer.from(got.flipped.buffer).equals(Buffer.from(want.flipped.buffer))).toBe(true);
    // the flipped rows are f(mirrored crop), not f(crop)
    expect(Buffer.from(got.flipped.buffer).equals(Buffer.from(got.original.buffer))).toBe(false);
    model.dispose();
  });
}

describe('embedCrops (wasm)', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });

  sameBitsCases();

  it('no crops: empty features; crops of another size than the backbone takes: an error naming both', () => {
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    const got = embedCrops(model, memoryCrops(new Uint8Array(0), 28, 24));
    expect([got.original.length, got.flipped.length, got.dim]).toEqual([0, 0, 0]);
    expect(() => embedCrops(model, randomCrops(2, 28, 24, 1), { margin: 1 })).toThrow('the backbone takes 28×24×3 images; the crops are 26×22×3');
    model.dispose();
  });
});

describeNative('embedCrops (native)', () => {
  beforeAll(async () => {
    registerNativeBackend();
    expect(await tf.setBackend('native')).toBe(true);
  });

  sameBitsCases();
});
