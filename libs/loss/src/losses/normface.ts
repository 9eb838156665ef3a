import type { MarginSoftmaxSpec } from '../fused';
import { ScaledCosineLoss, type ScaledCosineOptions } from '../scaled-cosine';
import { registerMarginLoss } from '../registry';

export type NormFaceOptions = ScaledCosineOptions;

/** NormFace (Wang et al., ACM MM 2017): features and weights normalised, logits s·cos θ_j, no margin. */
export class NormFaceLoss extends ScaledCosineLoss<NormFaceOptions> {
  static readonly lossName = 'normface';

  /** Fused: s·cos θ_j for every class. */
  override fusedSpec(): MarginSoftmaxSpec {
    return { scale: 'fixed', s: this.options.s, target: { kind: 'none' } };
  }
}

registerMarginLoss<NormFaceOptions>({
  loss: NormFaceLoss,
  summary: 'Normalised softmax: s·cos θ for every class, no margin',
  reference: 'Wang et al., NormFace: L2 Hypersphere Embedding for Face Verification, ACM MM 2017',
  defaults: { s: 30 },
});
