import * as tf from '@tensorflow/tfjs';
import { MarginLossBase, type BatchGeometry } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { registerMarginLoss } from '../registry';

export type SoftmaxOptions = Record<string, never>;

/** Plain softmax cross-entropy: logits x·W + b (bias optional; absent means zero). The paper's baseline. */
export class SoftmaxLoss extends MarginLossBase<SoftmaxOptions> {
  static readonly lossName = 'softmax';
  override readonly usesBias = true;
  readonly normalizesWeights = false;

  protected override plainLogits(geometry: BatchGeometry): tf.Tensor2D {
    const product = tf.matMul(geometry.features, geometry.weights);
    return (geometry.bias ? tf.add(product, geometry.bias) : product) as tf.Tensor2D;
  }

  /** Fused: x·w_j + b_j. */
  override fusedSpec(): MarginSoftmaxSpec {
    return { scale: 'linear', target: { kind: 'none' } };
  }
}

registerMarginLoss<SoftmaxOptions>({
  loss: SoftmaxLoss,
  summary: 'Plain softmax cross-entropy with bias (the baseline of the paper’s Table 3)',
  reference: 'Liu et al., CVPR 2017, Table 3 baseline',
  defaults: {},
});
