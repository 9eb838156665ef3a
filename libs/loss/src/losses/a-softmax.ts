import * as tf from '@tensorflow/tfjs';
import { batchGeometry, type BatchGeometry } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { MultiplicativeMarginLoss, type MultiplicativeMarginOptions } from '../multiplicative-margin';
import { SPHEREFACE_LAMBDA_SCHEDULE } from '../lambda';
import { registerMarginLoss } from '../registry';
import { requireOneOf } from '../options';
import { clipCosine, pickTarget, psiDerivativeOfCosine, psiOfCosine, safeNorm } from '../tensor-ops';
import type { MarginLossInputs } from '../types';

export type ASoftmaxGradient = 'exact' | 'caffe';

export interface ASoftmaxOptions extends MultiplicativeMarginOptions {
  /**
   * `exact`: tfjs autograd of the forward (through the weight normalisation).
   * `caffe`: the authors' hand-coded backward (margin_inner_product_layer): ∂/∂x uses the coefficient
   * pair (ψ'(c), (ψ(c) − cψ'(c))/‖x‖) divided by its norm; ∂/∂W is the plain inner-product gradient xᵀg,
   * ignoring the margin and the normalisation. In Caffe the stored weights are then re-normalised in place
   * at the next forward; a training loop using this mode should do the same.
   */
  gradient: ASoftmaxGradient;
}

/**
 * A-Softmax (SphereFace, Liu et al., CVPR 2017): class-weight columns normalised, no bias, features not
 * normalised. Logits ‖x‖cos θ_j; the target logit is (λ‖x‖cos θ_y + ‖x‖ψ(θ_y))/(1+λ).
 */
export class ASoftmaxLoss extends MultiplicativeMarginLoss<ASoftmaxOptions> {
  static readonly lossName = 'a-softmax';
  readonly normalizesWeights = true;
  /** The caffe backward ignores the weight normalisation; the stored weights are re-normalised instead. */
  override readonly renormalizeWeightsAfterUpdate: boolean = this.options.gradient === 'caffe';

  constructor(options: ASoftmaxOptions) {
    super(options);
    requireOneOf(this.name, 'gradient', options.gradient, ['exact', 'caffe'] as const);
  }

  protected override plainLogits(geometry: BatchGeometry): tf.Tensor2D {
    return tf.mul(geometry.featureNorms, geometry.cosine) as tf.Tensor2D;
  }

  /** Fused: ‖x‖cos θ_j, the ψ target, and this loss's gradient mode (both run in the kernel). */
  override fusedSpec(iteration: number): MarginSoftmaxSpec {
    return { scale: 'feature', target: this.psiTarget(iteration), gradient: this.options.gradient };
  }

  protected override computeLogits(inputs: MarginLossInputs): tf.Tensor2D {
    if (this.options.gradient === 'exact') return super.computeLogits(inputs);
    const lambda = this.lambdaAt(inputs.iteration ?? 0);
    const forward = (x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([x, w]);
      const value = this.logitsFromGeometry(batchGeometry({ ...inputs, features: x, weights: w }));
      return {
        value,
        gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
          caffeBackward(dy, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, inputs.labels, this.m, lambda),
      };
    };
    // customGrad's declared type erases the argument types; the cast restores them.
    const withCaffeBackward = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
    return withCaffeBackward(inputs.features, inputs.weights) as tf.Tensor2D;
  }
}

/** The Caffe layer's backward (paper notes §1.4), in this library's [D, C] weight layout. */
function caffeBackward(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  labels: tf.Tensor1D,
  m: number,
  lambda: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const dW = tf.matMul(x, dy, true, false) as tf.Tensor2D;
  const wHat = tf.div(w, safeNorm(w, 0)) as tf.Tensor2D;
  let dx = tf.matMul(dy, wHat, false, true) as tf.Tensor2D;
  if (m >= 2) {
    const oneHot = tf.oneHot(labels, w.shape[1]) as tf.Tensor2D;
    const xNorm = tf.reshape(safeNorm(x, 1), [-1]);
    const c = clipCosine(tf.div(pickTarget(tf.matMul(x, wHat) as tf.Tensor2D, oneHot), xNorm));
    const coeffW = psiDerivativeOfCosine(c, m);
    const coeffX = tf.div(tf.sub(psiOfCosine(c, m), tf.mul(c, coeffW)), xNorm);
    // Never zero: ψ' vanishes only at c = cos(jπ/m), where ψ = 1 − 2j ≠ 0.
    const pairNorm = tf.sqrt(tf.add(tf.square(coeffW), tf.square(coeffX)));
    const wY = tf.matMul(oneHot, wHat, false, true);
    const column = (t: tf.Tensor) => tf.expandDims(t, 1);
    const marginDirection = tf.add(tf.mul(column(tf.div(coeffW, pairNorm)), wY), tf.mul(column(tf.div(coeffX, pairNorm)), x));
    // g_y·[(ψ-direction)/(1+λ) + λ/(1+λ)·ŵ_y] replaces the plain g_y·ŵ_y already in dx.
    const correction = tf.div(tf.sub(marginDirection, wY), 1 + lambda);
    dx = tf.add(dx, tf.mul(column(pickTarget(dy, oneHot)), correction)) as tf.Tensor2D;
  }
  return [dx, dW];
}

registerMarginLoss<ASoftmaxOptions>({
  loss: ASoftmaxLoss,
  summary: 'SphereFace: normalised weights, no bias, multiplicative angular margin ψ(θ) with λ annealing',
  reference: 'Liu et al., SphereFace: Deep Hypersphere Embedding for Face Recognition, CVPR 2017',
  defaults: { m: 4, lambda: { ...SPHEREFACE_LAMBDA_SCHEDULE }, gradient: 'exact' },
});
