import * as tf from '@tensorflow/tfjs';
import { MarginLossBase, type BatchGeometry } from './margin-loss-base';
import { requirePositive } from './options';

export interface ScaledCosineOptions {
  /** Scale s applied to the cosines (the radius of the hypersphere the normalised features live on). */
  s: number;
}

/** Base of the feature-and-weight-normalised losses (NormFace, CosFace, ArcFace, combined): logits s·cos θ_j. */
export abstract class ScaledCosineLoss<Options extends ScaledCosineOptions> extends MarginLossBase<Options> {
  readonly normalizesWeights = true;

  constructor(options: Options) {
    super(options);
    requirePositive(this.name, 's', options.s);
  }

  protected override plainLogits(geometry: BatchGeometry): tf.Tensor2D {
    return tf.mul(geometry.cosine, this.options.s) as tf.Tensor2D;
  }
}

/**
 * Lower bound on sin²θ when sin θ is derived as √(1 − cos²θ): d√(1−c²)/dc is infinite at |c| = 1, so the
 * clamp bounds that gradient by 1/√1e-6 = 1000 and only acts where |cos θ| > 1 − 5e-7 (θ < 0.06°).
 */
export const SIN_SQUARED_FLOOR = 1e-6;

export function sineFromCosine(c: tf.Tensor): tf.Tensor {
  return tf.sqrt(tf.maximum(tf.sub(1, tf.square(c)), SIN_SQUARED_FLOOR));
}
