import { ScaledCosineLoss, type ScaledCosineOptions } from '../scaled-cosine';
import { registerMarginLoss } from '../registry';

export type NormFaceOptions = ScaledCosineOptions;

/** NormFace (Wang et al., ACM MM 2017): features and weights normalised, logits s·cos θ_j, no margin. */
export class NormFaceLoss extends ScaledCosineLoss<NormFaceOptions> {
  static readonly lossName = 'normface';
}

registerMarginLoss<NormFaceOptions>({
  loss: NormFaceLoss,
  summary: 'Normalised softmax: s·cos θ for every class, no margin',
  reference: 'Wang et al., NormFace: L2 Hypersphere Embedding for Face Verification, ACM MM 2017',
  defaults: { s: 30 },
});
