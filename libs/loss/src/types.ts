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
}
