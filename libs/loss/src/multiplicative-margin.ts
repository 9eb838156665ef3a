import * as tf from '@tensorflow/tfjs';
import type { MarginTarget } from '@sphereface/common';
import { MarginLossBase, type BatchGeometry, type TargetTerms } from './margin-loss-base';
import { lambdaAt, resolveLambda, type LambdaOption, type LambdaSchedule } from './lambda';
import { assertIntegerMargin } from './psi';
import { psiOfCosine } from './tensor-ops';

export interface MultiplicativeMarginOptions {
  /** Integer angular margin m ≥ 1 (m = 1: no margin). */
  m: number;
  /** Fixed λ, or an annealing schedule (default: the authors' base 1000, gamma 0.12, power 1, lambdaMin 5). */
  lambda: LambdaOption;
}

/**
 * The target logit shared by L-Softmax, A-Softmax and A-Softmax-NormFea:
 *   f_y = (λ·r·cos θ + r·ψ(θ)) / (1 + λ),
 * where r·cos θ is the plain target logit and r its scale (`targetScale`): ‖x‖‖w_y‖ by default, ‖x‖ when the
 * weights are normalised (A-Softmax). λ → ∞ recovers the plain logit, λ = 0 the full margin.
 */
export abstract class MultiplicativeMarginLoss<Options extends MultiplicativeMarginOptions> extends MarginLossBase<Options> {
  readonly m: number;
  readonly lambda: number | LambdaSchedule;

  constructor(options: Options) {
    const lambda = resolveLambda(options.lambda);
    super({ ...options, lambda });
    assertIntegerMargin(options.m, `${this.name}: option 'm'`);
    this.m = options.m;
    this.lambda = lambda;
  }

  /** λ at a forward iteration, from the `lambda` option (a fixed number or the annealing schedule). */
  override lambdaAt(iteration: number): number {
    return lambdaAt(iteration, this.lambda);
  }

  /** The fused kernel's target term (λ·cos θ + ψ(θ))/(1+λ) at a forward iteration, for the losses' `fusedSpec`. */
  protected psiTarget(iteration: number): MarginTarget {
    return { kind: 'psi', m: this.m, lambda: this.lambdaAt(iteration) };
  }

  /**
   * r in plain = r·cos θ_y: the factor ψ(θ_y) is scaled by. ‖x‖ when the weights are normalised, else ‖x‖‖w_y‖;
   * a loss whose plain logits are scaled otherwise (e.g. s·cos θ) overrides it.
   */
  protected targetScale(terms: TargetTerms): tf.Tensor1D | number {
    return this.normalizesWeights ? terms.featureNorm : (tf.mul(terms.featureNorm, terms.weightNorm) as tf.Tensor1D);
  }

  protected override targetLogit(terms: TargetTerms, geometry: BatchGeometry): tf.Tensor1D {
    const lambda = this.lambdaAt(geometry.iteration);
    const margin = tf.mul(this.targetScale(terms), psiOfCosine(terms.cosine, this.m));
    return tf.div(tf.add(tf.mul(terms.plain, lambda), margin), 1 + lambda) as tf.Tensor1D;
  }
}
