import { MARGIN_SOFTMAX_KERNEL, mulberry32 } from '@sphereface/common';
import { CropBatchProvider, memoryCrops, type BatchProvider } from '@sphereface/data';
import { nativeKernelCalls, registerNativeBackend } from '@sphereface/native';
import { describeNative } from '@sphereface/native/testing';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { marginHeadModel, type HeadMetrics } from './margin-head';
import { Trainer } from './trainer';

const N = 24, D = 16, C = 7;

/** Features near their class's weight column (so the accuracy is neither 0 nor 1), labels, and a random bias. */
function batch(seed: number, weights: Float32Array) {
  const rng = mulberry32(seed);
  const labels = Int32Array.from({ length: N }, (_, i) => i % C);
  const features = Float32Array.from({ length: N * D }, (_, k) => {
    const [i, d] = [Math.floor(k / D), k % D];
    return 2 * weights[d * C + labels[i]] + 1.5 * (rng() * 2 - 1);
  });
  return { features, labels, bias: Float32Array.from({ length: C }, () => rng() - 0.5) };
}

let variablesMade = 0;

interface Outcome {
  loss: number;
  metrics: number[];
  dx: Float32Array;
  dW: Float32Array;
  db?: Float32Array;
  kernelCalls: number;
}

/** head.lossAndMetrics on the active backend: the loss, the metrics and the gradients (features, weights, bias). */
function headOutcome(loss: string, lossOptions: Record<string, unknown>, iteration: number): Outcome {
  const { model, head } = marginHeadModel({ numClasses: C, loss, lossOptions, inputDim: D, seed: 3 });
  const data = batch(5, model.getWeights()[0].dataSync() as Float32Array);
  if (model.getWeights().length > 1) model.setWeights([model.getWeights()[0], tf.tensor1d(data.bias)]);
  const features = tf.tensor2d(data.features, [N, D]);
  const labels = tf.tensor1d(data.labels, 'int32');
  const x = tf.variable(features, true, `margin-head-metrics-x${++variablesMade}`);
  const before = tf.memory().numTensors;
  const calls = nativeKernelCalls()[MARGIN_SOFTMAX_KERNEL]?.native ?? 0;
  let metrics: HeadMetrics | null = null;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const result = head.lossAndMetrics({ features: x, labels, iteration, labelsChecked: true });
    metrics = result.metrics;
    return result.loss;
  }, [x, ...variables]);
  const m = metrics as unknown as HeadMetrics;
  const outcome: Outcome = {
    loss: value.dataSync()[0],
    metrics: [m.accuracy, m.meanTargetAngle, m.meanFeatureNorm].map((t) => t.dataSync()[0]),
    dx: grads[x.name].dataSync() as Float32Array,
    dW: grads[variables[0].name].dataSync() as Float32Array,
    db: variables[1] ? (grads[variables[1].name].dataSync() as Float32Array) : undefined,
    kernelCalls: (nativeKernelCalls()[MARGIN_SOFTMAX_KERNEL]?.native ?? 0) - calls,
  };
  tf.dispose([value, ...Object.values(grads), m.accuracy, m.meanTargetAngle, m.meanFeatureNorm]);
  expect(tf.memory().numTensors, 'no tensors left behind').toBe(before);
  tf.dispose([x, features, labels]);
  model.dispose();
  return outcome;
}

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
};

describeNative('MarginHead.lossAndMetrics: the fused kernel on native against tfjs ops on cpu', () => {
  beforeAll(() => void registerNativeBackend());
  afterAll(async () => void (await tf.setBackend('cpu')));

  it.each([
    ['a-softmax', {}, 1],
    ['a-softmax', {}, 3000],
    ['a-softmax', { m: 2, gradient: 'caffe' }, 40],
    ['softmax', {}, 1],
    ['l-softmax', { m: 3 }, 200],
    ['cosface', {}, 1],
    ['arcface', {}, 1],
  ] as const)('%s %o at iteration %i: same loss, metrics and gradients up to float rounding', async (loss, options, iteration) => {
    expect(await tf.setBackend('cpu')).toBe(true);
    const ops = headOutcome(loss, options, iteration);
    expect(await tf.setBackend('native')).toBe(true);
    const fused = headOutcome(loss, options, iteration);
    expect(ops.kernelCalls).toBe(0);
    expect(fused.kernelCalls, 'the fused kernel ran, once').toBe(1);
    expect(Math.abs(fused.loss - ops.loss) / Math.abs(ops.loss)).toBeLessThan(1e-5);
    const [accuracy, angle, norm] = fused.metrics;
    expect(accuracy, 'accuracy').toBe(ops.metrics[0]);
    expect(ops.metrics[0], 'a non-trivial accuracy').toBeGreaterThan(0);
    expect(ops.metrics[0], 'a non-trivial accuracy').toBeLessThan(1);
    expect(Math.abs(angle - ops.metrics[1]) / ops.metrics[1], 'mean target angle').toBeLessThan(1e-5);
    expect(Math.abs(norm - ops.metrics[2]) / ops.metrics[2], 'mean feature norm').toBeLessThan(1e-6);
    expect(relErr(fused.dx, ops.dx), 'dx').toBeLessThan(1e-5);
    expect(relErr(fused.dW, ops.dW), 'dW').toBeLessThan(1e-5);
    if (ops.db) expect(relErr(fused.db!, ops.db), 'db').toBeLessThan(1e-5);
  });
});

describe('Trainer: labels a provider has checked are not read back by the loss', () => {
  beforeAll(async () => void expect(await tf.setBackend('cpu')).toBe(true));

  /** A CropBatchProvider behind a proxy that counts reads of its batches' labels; `checked` overrides labelsChecked. */
  function countingProvider(checked: boolean | undefined): { provider: BatchProvider; reads: () => number } {
    const inner = new CropBatchProvider(memoryCrops(Uint8Array.from([200, 0, 255, 255, 160, 64, 0, 255, 128]), 1, 1), Int32Array.from([0, 1, 2]), 3, 1, { mirror: false });
    let reads = 0;
    const provider: BatchProvider = {
      numClasses: 3,
      labelsChecked: checked,
      next: async (size) => {
        const b = await inner.next(size);
        const read = b.labels.dataSync.bind(b.labels);
        vi.spyOn(b.labels, 'dataSync').mockImplementation(() => (reads++, read()));
        return b;
      },
      getState: () => inner.getState(),
      setState: (s) => inner.setState(s),
    };
    return { provider, reads: () => reads };
  }

  it.each([
    [true, 0],
    [undefined, 2],
  ])('labelsChecked %s: %i read-backs in 2 steps', async (checked, expected) => {
    expect(new CropBatchProvider(memoryCrops(new Uint8Array(3), 1, 1), Int32Array.from([0]), 1).labelsChecked).toBe(true);
    const backbone = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 3] }), tf.layers.dense({ units: 4 })] });
    const { model: headModel } = marginHeadModel({ numClasses: 3, loss: 'a-softmax', inputDim: 4, seed: 5 });
    const { provider, reads } = countingProvider(checked);
    const trainer = new Trainer(backbone, headModel, provider, { batchSize: 3, maxIter: 2, progress: 'none' });
    await trainer.step();
    await trainer.step();
    expect(reads()).toBe(expected);
    trainer.dispose();
    backbone.dispose();
    headModel.dispose();
  });
});
