import * as tf from '@tensorflow/tfjs';
import { ScaledCosineLoss, type ScaledCosineOptions } from '../scaled-cosine';
import type { TargetTerms } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { registerMarginLoss } from '../registry';
import { requireFinite } from '../options';

export interface CosFaceOptions extends ScaledCosineOptions {
  /** Additive cosine margin. */
  m: number;
}

/** CosFace / AM-Softmax (Wang et al., CVPR 2018): target logit s·(cos θ_y − m). */
export class CosFaceLoss extends ScaledCosineLoss<CosFaceOptions> {
  static readonly lossName = 'cosface';

  constructor(options: CosFaceOptions) {
    super(options);
    requireFinite(this.name, 'm', options.m, 0);
  }

  protected override targetLogit(terms: TargetTerms): tf.Tensor1D {
    return tf.mul(tf.sub(terms.cosine, this.options.m), this.options.s) as tf.Tensor1D;
  }

  /** Fused: s·cos θ_j, target s·(cos θ_y − m). */
  override fusedSpec(): MarginSoftmaxSpec {
    return { scale: 'fixed', s: this.options.s, target: { kind: 'cosine', m: this.options.m } };
  }
}

registerMarginLoss<CosFaceOptions>({
  loss: CosFaceLoss,
  summary: 'Large-margin cosine loss: s·(cos θ − m) for the target class',
  reference: 'Wang et al., CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018',
  defaults: { s: 64, m: 0.35 },
});
