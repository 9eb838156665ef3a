import type * as tf from '@tensorflow/tfjs';

/** Inputs shared by every margin loss. */
export interface MarginLossInputs {
  /** Embeddings, shape [N, D] (float32). Not normalised by the caller. */
  features: tf.Tensor2D;
  /** Class weights, shape [D, C]: one column per class. */
  weights: tf.Tensor2D;
  /** Class labels, int32, shape [N], each in [0, C). */
  labels: tf.Tensor1D;
  /** Training iteration (1-based, as the Caffe layer counts forwards); drives λ annealing. Default 0. */
  iteration?: number;
  /** Per-class bias, shape [C]; only losses with `usesBias` read it. */
  bias?: tf.Tensor1D;
  /**
   * The caller asserts every label is in [0, C) (e.g. its batch provider checked them once): the tfjs-op path then
   * skips its per-call read-back of the labels. The fused kernel checks them in any case, at no cost.
   */
  labelsChecked?: boolean;
}

/**
 * Per-batch metrics of the margin-free classifier (float32 scalars): top-1 accuracy of x·ŵ_j with
 * ŵ_j = w_j/(‖w_j‖ + 1e-12) when the loss normalises weights, else of x·w_j + b_j; the mean angle (degrees) between
 * each feature and its class weight, acos(clip(x·w_y/(‖x‖‖w_y‖ + 1e-12), −1, 1)); the mean ‖x‖ (norms √Σv²).
 */
export interface MarginMetrics {
  accuracy: tf.Scalar;
  meanTargetAngle: tf.Scalar;
  meanFeatureNorm: tf.Scalar;
}

/** `MarginLoss.lossAndMetrics`'s result. */
export interface LossAndMetrics {
  loss: tf.Scalar;
  /**
   * The metrics when the fused kernel computed them with the loss (then kept with tf.keep: they outlive enclosing
   * tidy scopes, e.g. a tf.variableGrads that must return only the loss, and the caller disposes them); null on the
   * tfjs-op path, where a caller that wants them computes them itself.
   */
  metrics: MarginMetrics | null;
}

/** A margin-based softmax loss: a logits function plus mean softmax cross-entropy over those logits. */
export interface MarginLoss {
  /** Registry name, e.g. `a-softmax`. */
  readonly name: string;
  /** The resolved options (defaults filled in), JSON-serialisable, for run records and layer configs. */
  readonly options: Readonly<Record<string, unknown>>;
  /** True when the loss reads `bias` (plain softmax). */
  readonly usesBias: boolean;
  /** True when class-weight columns are normalised inside the loss. */
  readonly normalizesWeights: boolean;
  /**
   * True when the loss's gradient treats the stored class weights as already normalised and ignores the
   * normalisation (a-softmax with `gradient: 'caffe'`): a training loop must then re-normalise the stored
   * weight columns after each update, as the Caffe layer does before each forward. Implies `normalizesWeights`.
   */
  readonly renormalizeWeightsAfterUpdate: boolean;
  /**
   * λ of the target-logit mixing f_y = (λ·plain + margin)/(1 + λ) at a forward `iteration` (counted like
   * `MarginLossInputs.iteration`: from 1, default 0), or null when the loss has no λ. What a training loop logs.
   */
  lambdaAt(iteration: number): number | null;
  /** Logits [N, C] that enter softmax cross-entropy. Differentiable with tfjs autograd. */
  logits(inputs: MarginLossInputs): tf.Tensor2D;
  /** Mean softmax cross-entropy of `logits(inputs)` (scalar). */
  loss(inputs: MarginLossInputs): tf.Scalar;
  /**
   * `loss(inputs)`, plus the batch's metrics when the backend's fused kernel (MARGIN_SOFTMAX_KERNEL of
   * @sphereface/common) computed the loss (see `MarginLossBase.fusedSpec`). Optional: a loss without it is called
   * through `loss`.
   */
  lossAndMetrics?(inputs: MarginLossInputs): LossAndMetrics;
}
