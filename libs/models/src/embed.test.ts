import { mulberry32 } from '@sphereface/common';
import { assembleBatch, memoryCrops, type CropSource } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadNativeAddon, registerNativeBackend, type NativeAddon } from '@sphereface/native';
import { describeNative } from '@sphereface/native/testing';
import { selectBackend } from './backend';
import { embedCrops, extractEmbeddings, inferencePlan, nativeCropNormaliser, normaliseCrops, PREDICT_BATCH_SIZE } from './embed';
import { SphereConv2D } from './layers';
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
  afterEach(() => {
    vi.restoreAllMocks();
  });

  sameBitsCases();

  it.each([0, 2])("the addon's normaliseCrops writes the JS loop's arrays bit for bit (margin %i)", (margin) => {
    const addon = loadNativeAddon() as NativeAddon;
    const count = 5, height = 10 + 2 * margin, width = 7 + 2 * margin, size = count * 10 * 7 * 3;
    const bytes = Uint8Array.from({ length: count * height * width * 3 }, (_, k) => (k < 256 ? k : (k * 7919) % 256));
    const js = [new Float32Array(size), new Float32Array(size)], native = [new Float32Array(size).fill(NaN), new Float32Array(size).fill(NaN)];
    normaliseCrops(bytes, js[0], js[1], count, height, width, margin);
    addon.normaliseCrops(bytes, native[0], native[1], count, height, width, margin);
    for (const k of [0, 1]) expect(Buffer.from(native[k].buffer).equals(Buffer.from(js[k].buffer))).toBe(true);
    expect(Buffer.from(js[0].buffer).equals(Buffer.from(js[1].buffer))).toBe(false);
  });

  it("embedCrops runs the addon's normaliser and the fused plan here (the JS loop and execute elsewhere)", () => {
    const addon = (tf.backend() as unknown as { addon: NativeAddon }).addon;
    expect(nativeCropNormaliser()).not.toBeNull();
    const normalise = vi.spyOn(addon, 'normaliseCrops');
    const fused = vi.spyOn(SphereConv2D.prototype, 'callWithPrelu');
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    embedCrops(model, randomCrops(PREDICT_BATCH_SIZE + 3, 28, 24, 3));
    expect(normalise).toHaveBeenCalledTimes(2); // per batch
    expect(fused).toHaveBeenCalledTimes(2 * 2 * 4); // 2 batches × (original, mirrored) × 4 conv + PReLU pairs
    model.dispose();
  });

  it.each(['sphereface4', 'sphereface20'])('inferencePlan: the same bits as execute (%s; residual adds in 20)', (name) => {
    const model = createModel(name, { inputSize: [28, 24], widthMultiplier: 0.125, seed: 2 });
    const plan = inferencePlan(model);
    expect(plan).not.toBeNull();
    const fused = vi.spyOn(SphereConv2D.prototype, 'callWithPrelu');
    const x = tf.randomNormal([3, 28, 24, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => plan!(x));
    const want = tf.tidy(() => model.execute(x, model.outputs[0].name) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(got.shape).toEqual(want.shape);
    expect(Buffer.from((got.dataSync() as Float32Array).buffer).equals(Buffer.from((want.dataSync() as Float32Array).buffer))).toBe(true);
    expect(fused.mock.calls.length).toBe(name === 'sphereface4' ? 4 : 20); // every conv is followed by its PReLU
    tf.dispose([x, got, want]);
    model.dispose();
  });

  it('inferencePlan: a PReLU with per-position slopes stays a separate kernel (the same bits as execute)', () => {
    const input = tf.input({ shape: [6, 5, 3] });
    const conv = new SphereConv2D({ filters: 4, strides: 1, init: 'gaussian', biasTrainable: true, seed: 3 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.prelu({ alphaInitializer: tf.initializers.randomUniform({ minval: 0, maxval: 1, seed: 4 }) }).apply(conv) as tf.SymbolicTensor });
    const fused = vi.spyOn(SphereConv2D.prototype, 'callWithPrelu');
    const x = tf.randomNormal([2, 6, 5, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const [got, want] = [tf.tidy(() => inferencePlan(model)!(x)), tf.tidy(() => model.execute(x, model.outputs[0].name) as tf.Tensor)];
    expect(fused).not.toHaveBeenCalled();
    expect(Buffer.from((got.dataSync() as Float32Array).buffer).equals(Buffer.from((want.dataSync() as Float32Array).buffer))).toBe(true);
    tf.dispose([x, got, want]);
    model.dispose();
  });

  it('inferencePlan: null for layers it does not run (embedCrops then uses execute)', () => {
    const functional = (withDropout: boolean) => {
      const input = tf.input({ shape: [4, 4, 3] });
      let y = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
      if (withDropout) y = tf.layers.dropout({ rate: 0.5 }).apply(y) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(y) as tf.SymbolicTensor });
    };
    const model = functional(true);
    expect(inferencePlan(model)).toBeNull();
    const sequential = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 2 })] });
    expect(inferencePlan(sequential)).toBeNull(); // no inputLayers of its own
    const plain = functional(false);
    const plan = inferencePlan(plain);
    expect(plan).not.toBeNull();
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    tf.tidy(() => {
      expect(Array.from(plan!(x).dataSync())).toEqual(Array.from((plain.predict(x) as tf.Tensor).dataSync()));
    });
    tf.dispose([x]);
    [model, sequential, plain].forEach((m) => m.dispose());
  });
});
