import * as tf from '@tensorflow/tfjs';
import { ScaledCosineLoss, type ScaledCosineOptions } from '../scaled-cosine';
import type { BatchGeometry, TargetTerms } from '../margin-loss-base';
import { lambdaAt, resolveLambda, SPHEREFACE_LAMBDA_SCHEDULE, type LambdaOption } from '../lambda';
import { assertIntegerMargin } from '../psi';
import { psiOfCosine } from '../tensor-ops';
import { registerMarginLoss } from '../registry';

export interface ASoftmaxNormFeaOptions extends ScaledCosineOptions {
  m: number;
  lambda: LambdaOption;
}

/**
 * A-Softmax with normalised features ("A-Softmax-NormFea", CosFace paper Table 2): ‖x‖ is replaced by a
 * fixed scale s, so the target logit is s·(λcos θ_y + ψ(θ_y))/(1+λ). Also the worked example in the README
 * of how a margin loss is added in one file.
 */
export class ASoftmaxNormFeaLoss extends ScaledCosineLoss<ASoftmaxNormFeaOptions> {
  static readonly lossName = 'a-softmax-normfea';

  constructor(options: ASoftmaxNormFeaOptions) {
    super({ ...options, lambda: resolveLambda(options.lambda) });
    assertIntegerMargin(options.m, `${this.name}: option 'm'`);
  }

  protected override targetLogit(terms: TargetTerms, geometry: BatchGeometry): tf.Tensor1D {
    const { s, m } = this.options;
    const lambda = lambdaAt(geometry.iteration, this.options.lambda);
    const mixed = tf.div(tf.add(tf.mul(terms.cosine, lambda), psiOfCosine(terms.cosine, m)), 1 + lambda);
    return tf.mul(mixed, s) as tf.Tensor1D;
  }
}

registerMarginLoss<ASoftmaxNormFeaOptions>({
  loss: ASoftmaxNormFeaLoss,
  summary: 'A-Softmax on normalised features: s·ψ(θ) target with λ annealing',
  reference: 'Wang et al., CosFace, CVPR 2018, Table 2 (A-Softmax-NormFea)',
  defaults: { s: 64, m: 4, lambda: { ...SPHEREFACE_LAMBDA_SCHEDULE } },
});
