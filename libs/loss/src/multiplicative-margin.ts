import * as tf from '@tensorflow/tfjs';
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
 * The target logit shared by L-Softmax and A-Softmax:
 *   f_y = (λ·‖x‖‖w_y‖cos θ + ‖x‖‖w_y‖·ψ(θ)) / (1 + λ),
 * with ‖w_y‖ = 1 for A-Softmax. λ → ∞ recovers the plain logit, λ = 0 the full margin.
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

  lambdaAt(iteration: number): number {
    return lambdaAt(iteration, this.lambda);
  }

  protected override targetLogit(terms: TargetTerms, geometry: BatchGeometry): tf.Tensor1D {
    const lambda = this.lambdaAt(geometry.iteration);
    const magnitude = this.normalizesWeights ? terms.featureNorm : tf.mul(terms.featureNorm, terms.weightNorm);
    const margin = tf.mul(magnitude, psiOfCosine(terms.cosine, this.m));
    return tf.div(tf.add(tf.mul(terms.plain, lambda), margin), 1 + lambda) as tf.Tensor1D;
  }
}
