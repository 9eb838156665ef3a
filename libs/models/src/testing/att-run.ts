import * as tf from '@tensorflow/tfjs';
import { ArrayBatchProvider } from '../array-provider';
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

export interface AttRun {
  trainer: Trainer;
  backbone: tf.LayersModel;
  headModel: tf.LayersModel;
  dispose(): void;
}

export function attTrainer(opts: { widthMultiplier: number; seed: number; iters: number } & Partial<TrainerConfig>): AttRun {
  const { widthMultiplier, seed, iters, ...config } = opts;
  const att = attData();
  const backbone = createModel('sphereface4', { inputSize: ATT_SIZE, widthMultiplier, seed });
  // λ reaches its floor (5) at half of the run (§7: the authors' constants are written for 28k iterations).
  const lambda = { base: 1000, gamma: 199 / (iters / 2), power: 1, lambdaMin: 5 };
  const { model: headModel } = marginHeadModel({ numClasses: att.numClasses, loss: 'a-softmax', lossOptions: { lambda }, inputDim: 512, seed: seed + 100 });
  const provider = new ArrayBatchProvider(att.train.images, att.train.labels, [...ATT_SIZE, 3], att.numClasses, seed + 200);
  const trainer = new Trainer(backbone, headModel, provider, { batchSize: 32, maxIter: iters, lrSteps: [Math.round(iters * 0.75)], progress: 'none', seed, ...config });
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
