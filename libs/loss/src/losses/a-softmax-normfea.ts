import * as tf from '@tensorflow/tfjs';
import type { BatchGeometry } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { MultiplicativeMarginLoss, type MultiplicativeMarginOptions } from '../multiplicative-margin';
import type { ScaledCosineOptions } from '../scaled-cosine';
import { SPHEREFACE_LAMBDA_SCHEDULE } from '../lambda';
import { requirePositive } from '../options';
import { registerMarginLoss } from '../registry';

export interface ASoftmaxNormFeaOptions extends MultiplicativeMarginOptions, ScaledCosineOptions {}

/**
 * A-Softmax with normalised features ("A-Softmax-NormFea", CosFace paper Table 2): ‖x‖ is replaced by a
 * fixed scale s, so the target logit is s·(λcos θ_y + ψ(θ_y))/(1+λ). Also the worked example in the README
 * of how a margin loss is added in one file: the base class does the ψ and λ mixing; this file only says
 * that every logit is scaled by s.
 */
export class ASoftmaxNormFeaLoss extends MultiplicativeMarginLoss<ASoftmaxNormFeaOptions> {
  static readonly lossName = 'a-softmax-normfea';
  readonly normalizesWeights = true;

  constructor(options: ASoftmaxNormFeaOptions) {
    super(options);
    requirePositive(this.name, 's', options.s);
  }

  /** Every class: s·cos θ_j. */
  protected override plainLogits(geometry: BatchGeometry): tf.Tensor2D {
    return tf.mul(geometry.cosine, this.options.s) as tf.Tensor2D;
  }

  /** The target's ψ(θ_y) is scaled by s too, instead of ‖x‖. */
  protected override targetScale(): number {
    return this.options.s;
  }

  /** Fused: s·cos θ_j and the ψ target. */
  override fusedSpec(iteration: number): MarginSoftmaxSpec {
    return { scale: 'fixed', s: this.options.s, target: this.psiTarget(iteration) };
  }
}

registerMarginLoss<ASoftmaxNormFeaOptions>({
  loss: ASoftmaxNormFeaLoss,
  summary: 'A-Softmax on normalised features: s·ψ(θ) target with λ annealing',
  reference: 'Wang et al., CosFace, CVPR 2018, Table 2 (A-Softmax-NormFea)',
  defaults: { s: 64, m: 4, lambda: { ...SPHEREFACE_LAMBDA_SCHEDULE } },
});
