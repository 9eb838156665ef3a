import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { fileSystemHandler } from './io';
import { euclideanNorm, findMarginHead, marginHeadModel } from './margin-head';
import { createModel } from './sphereface';

const dir = mkdtempSync(join(tmpdir(), 'sf-head-'));

describe('MarginHead', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds [D, C] weights, a bias only when the loss uses one, and delegates the loss to @sphereface/loss', () => {
    const a = marginHeadModel({ numClasses: 5, loss: 'a-softmax', inputDim: 8, seed: 1 });
    expect(a.model.weights.map((w) => [w.originalName, w.shape])).toEqual([['fc6/kernel', [8, 5]]]);
    const s = marginHeadModel({ numClasses: 5, loss: 'softmax', inputDim: 8, seed: 1 });
    expect(s.model.weights.map((w) => [w.originalName, w.shape])).toEqual([['fc6/kernel', [8, 5]], ['fc6/bias', [5]]]);
    tf.tidy(() => {
      const features = tf.randomNormal([4, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
      const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
      // With softmax the head loss is plain cross-entropy of x·W + b.
      const expected = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), s.model.predict(features) as tf.Tensor2D);
      expect(s.head.loss({ features, labels }).dataSync()[0]).toBeCloseTo(expected.dataSync()[0], 5);
      // A-Softmax prediction logits are ‖x‖cos θ_j = x·w_j/‖w_j‖: margin-free, normalised weights.
      const w = a.model.getWeights()[0];
      const expectedLogits = tf.matMul(features, tf.div(w, tf.norm(w, 'euclidean', 0, true)));
      const diff = tf.max(tf.abs(tf.sub(a.model.predict(features) as tf.Tensor, expectedLogits))).dataSync()[0];
      expect(diff).toBeLessThan(1e-5);
    });
    a.model.dispose();
    s.model.dispose();
  });

  it('save/load round trip of a backbone and its head keeps weights, loss name and options', async () => {
    const backbone = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 2 });
    const lossOptions = { m: 4, lambda: { base: 1000, gamma: 0.5, power: 1, lambdaMin: 5 }, gradient: 'caffe' };
    const { model: head } = marginHeadModel({ numClasses: 7, loss: 'a-softmax', lossOptions, inputDim: 512, seed: 3 });
    await backbone.save(fileSystemHandler(join(dir, 'backbone')));
    await head.save(fileSystemHandler(join(dir, 'head')));
    const backbone2 = await tf.loadLayersModel(fileSystemHandler(join(dir, 'backbone')));
    const head2 = await tf.loadLayersModel(fileSystemHandler(join(dir, 'head')));
    const h2 = findMarginHead(head2);
    expect(h2.marginLoss.name).toBe('a-softmax');
    expect(h2.marginLoss.options).toEqual(lossOptions);
    expect(backbone2.countParams()).toBe(backbone.countParams());
    expect(backbone2.trainableWeights.length).toBe(backbone.trainableWeights.length); // fixed biases stay fixed
    tf.tidy(() => {
      const x = tf.randomNormal([3, 28, 24, 3], 0, 1, 'float32', 4);
      const y1 = head.predict(backbone.predict(x) as tf.Tensor) as tf.Tensor;
      const y2 = head2.predict(backbone2.predict(x) as tf.Tensor) as tf.Tensor;
      expect(Array.from(y2.dataSync())).toEqual(Array.from(y1.dataSync()));
    });
    await expect(tf.loadLayersModel(fileSystemHandler(join(dir, 'missing')))).rejects.toThrow(/cannot read .*missing\/model.json/);
    for (const m of [backbone, backbone2, head, head2]) m.dispose();
  });
});

describe('euclideanNorm', () => {
  it("equals tf.norm(x, 'euclidean', axis) bit for bit on the cpu backend, both axes, with and without keepDims", async () => {
    await tf.setBackend('cpu');
    const x = tf.randomNormal([37, 53], 0, 3, 'float32', 5);
    for (const axis of [0, 1]) {
      for (const keepDims of [false, true]) {
        const ours = euclideanNorm(x, axis, keepDims), stock = tf.norm(x, 'euclidean', axis, keepDims);
        expect(ours.shape).toEqual(stock.shape);
        expect(Array.from(ours.dataSync())).toEqual(Array.from(stock.dataSync()));
        tf.dispose([ours, stock]);
      }
    }
    x.dispose();
  });
});
