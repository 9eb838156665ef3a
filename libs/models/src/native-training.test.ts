import { MARGIN_SOFTMAX_KERNEL, mulberry32 } from '@sphereface/common';
import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { createModel, marginHeadModel, selectBackend, Trainer } from './index';
import { expect, it } from 'vitest';
import { nativeKernelCalls, registerNativeBackend } from '@sphereface/native';
import { describeNative, relErr } from '@sphereface/native/testing';

/**
 * Whole training steps agree with wasm to LOSS_TOL / WEIGHT_TOL (relative; max |Δ| over max |w| per variable) after
 * STEPS steps. Both compute in float32 with different summation orders; measured here: losses equal to 1e-7, weights
 * to 1.2e-6. 1e-5 leaves ~10× margin, while a real kernel error (a wrong tap, pad or transpose) moves them by ≫ 1e-3.
 */
const LOSS_TOL = 1e-5, WEIGHT_TOL = 1e-5, STEPS = 3;

async function train(backend: 'native' | 'wasm') {
  if (backend === 'wasm') await selectBackend({ force: 'wasm', log: null });
  else expect(await tf.setBackend('native')).toBe(true);
  const size: [number, number] = [28, 24], batch = 8, classes = 5;
  const backbone = createModel('sphereface4', { inputSize: size, widthMultiplier: 0.125, seed: 11 });
  const { model: head } = marginHeadModel({ numClasses: classes, loss: 'a-softmax', inputDim: 512, seed: 12 });
  const rng = mulberry32(3);
  const crops = Uint8Array.from({ length: 2 * batch * size[0] * size[1] * 3 }, () => Math.floor(rng() * 256));
  const labels = Int32Array.from({ length: 2 * batch }, (_, i) => i % classes);
  const provider = new CropBatchProvider(memoryCrops(crops, ...size), labels, classes, 5, { mirror: false });
  const trainer = new Trainer(backbone, head, provider, { batchSize: batch, maxIter: STEPS, progress: 'none', baseLr: 0.05 });
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) losses.push((await trainer.step()).loss);
  expect(tf.memory().numTensors, 'no tensors leak across steps').toBe(before);
  const weights = [...backbone.weights, ...head.weights].map((w) => ({ name: w.name, shape: w.shape, values: Float32Array.from(w.read().dataSync()) }));
  trainer.dispose();
  backbone.dispose();
  head.dispose();
  return { losses, weights };
}

describeNative('SphereFace-4 training on native vs wasm', () => {
  it(`${STEPS} Trainer steps (width ×0.125, 28×24, batch 8, A-Softmax) agree in loss and weights`, async () => {
    registerNativeBackend();
    const convBefore = nativeKernelCalls().Conv2DBackpropFilter.native;
    const headBefore = nativeKernelCalls()[MARGIN_SOFTMAX_KERNEL].native;
    const native = await train('native');
    expect(nativeKernelCalls().Conv2DBackpropFilter.native - convBefore).toBe(4 * STEPS); // the 4 stage convs, every step
    expect(nativeKernelCalls()[MARGIN_SOFTMAX_KERNEL].native - headBefore).toBe(STEPS); // the fused margin head, every step
    const wasm = await train('wasm');
    native.losses.forEach((l, i) => expect(Math.abs(l - wasm.losses[i]) / Math.abs(wasm.losses[i]), `loss ${i}`).toBeLessThan(LOSS_TOL));
    // Same architecture, same order (names differ: tfjs-layers uniquifies the second model's).
    expect(native.weights.map((w) => w.shape)).toEqual(wasm.weights.map((w) => w.shape));
    expect(native.losses[STEPS - 1], 'the steps train').not.toBe(native.losses[0]);
    for (const [i, w] of native.weights.entries()) expect(relErr(w.values, wasm.weights[i].values), w.name).toBeLessThan(WEIGHT_TOL);
  });
});
