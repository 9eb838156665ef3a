import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { marginHeadModel } from '../margin-head';
import { createModel } from '../sphereface';
import { Trainer, type TrainerConfig } from '../trainer';
import { loadAttFaces } from './att-faces';

/** Test helper: a SphereFace-4 + A-Softmax trainer on AT&T faces at 28×24 (7 images per identity for training). */
export const ATT_SIZE: [number, number] = [28, 24];
let cached: ReturnType<typeof loadAttFaces> | null = null;
export function attData(): ReturnType<typeof loadAttFaces> {
  cached ??= loadAttFaces(ATT_SIZE, 7);
  return cached;
}

let cachedCrops: Uint8Array | null = null;
/**
 * The training images as uint8 crops, what a CropBatchProvider reads: the box-filtered grey levels rounded to whole
 * values (x·128 + 127.5 inverts the normalisation; off by at most 0.5/128 from attData's floats).
 */
export function attTrainCrops(): Uint8Array {
  cachedCrops ??= Uint8Array.from(attData().train.images, (x) => Math.round(x * 128 + 127.5));
  return cachedCrops;
}

export interface AttRun {
  trainer: Trainer;
  backbone: tf.LayersModel;
  headModel: tf.LayersModel;
  dispose(): void;
}

/** `mirror`: the provider's random horizontal flip (Caffe `mirror: true`), default true. */
export function attTrainer(opts: { widthMultiplier: number; seed: number; iters: number; mirror?: boolean } & Partial<TrainerConfig>): AttRun {
  const { widthMultiplier, seed, iters, mirror = true, ...config } = opts;
  const att = attData();
  const backbone = createModel('sphereface4', { inputSize: ATT_SIZE, widthMultiplier, seed });
  // λ reaches its floor (5) at half of the run (§7: the authors' constants are written for 28k iterations).
  const lambda = { base: 1000, gamma: 199 / (iters / 2), power: 1, lambdaMin: 5 };
  const { model: headModel } = marginHeadModel({ numClasses: att.numClasses, loss: 'a-softmax', lossOptions: { lambda }, inputDim: 512, seed: seed + 100 });
  const provider = new CropBatchProvider(memoryCrops(attTrainCrops(), ...ATT_SIZE), att.train.labels, att.numClasses, seed + 200, { mirror });
  const trainer = new Trainer(backbone, headModel, provider, { batchSize: 32, maxIter: iters, lrSteps: [Math.round(iters * 0.75)], progress: 'none', ...config });
  return {
    trainer,
    backbone,
    headModel,
    dispose: () => {
      trainer.dispose();
      backbone.dispose();
      headModel.dispose();
    },
  };
}
