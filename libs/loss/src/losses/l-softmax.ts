import type { MarginSoftmaxSpec } from '../fused';
import { MultiplicativeMarginLoss, type MultiplicativeMarginOptions } from '../multiplicative-margin';
import { SPHEREFACE_LAMBDA_SCHEDULE } from '../lambda';
import { registerMarginLoss } from '../registry';

export type LSoftmaxOptions = MultiplicativeMarginOptions;

/**
 * L-Softmax (Liu et al., ICML 2016): the same ψ and λ as A-Softmax but weights are not normalised, so
 * logits are x·w_j = ‖x‖‖w_j‖cos θ_j and the target is ‖x‖‖w_y‖(λcos θ_y + ψ(θ_y))/(1+λ). No bias.
 */
export class LSoftmaxLoss extends MultiplicativeMarginLoss<LSoftmaxOptions> {
  static readonly lossName = 'l-softmax';
  readonly normalizesWeights = false;

  /** Fused: ‖x‖‖w_j‖cos θ_j and the ψ target. */
  override fusedSpec(iteration: number): MarginSoftmaxSpec {
    return { scale: 'feature-weight', target: this.psiTarget(iteration) };
  }
}

registerMarginLoss<LSoftmaxOptions>({
  loss: LSoftmaxLoss,
  summary: 'Large-margin softmax: ψ(θ) margin with λ annealing on unnormalised weights, no bias',
  reference: 'Liu et al., Large-Margin Softmax Loss for Convolutional Neural Networks, ICML 2016',
  defaults: { m: 4, lambda: { ...SPHEREFACE_LAMBDA_SCHEDULE } },
});
