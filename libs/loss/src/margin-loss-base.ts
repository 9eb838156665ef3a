import * as tf from '@tensorflow/tfjs';
import type { LossAndMetrics, MarginLoss, MarginLossInputs } from './types';
import { fusedLossAndMetrics, hasFusedMarginSoftmax, type MarginSoftmaxSpec } from './fused';
import { clipCosine, pickTarget, safeNorm } from './tensor-ops';

/** Everything a loss hook may need about one batch; all tensors live inside the caller's tidy scope. */
export interface BatchGeometry {
  features: tf.Tensor2D;
  weights: tf.Tensor2D;
  /** ‖x_i‖, shape [N, 1]. */
  featureNorms: tf.Tensor2D;
  /** ‖w_j‖, shape [1, C]. */
  weightNorms: tf.Tensor2D;
  /** cos θ_ij between x_i and w_j, clipped to [−1, 1], shape [N, C]. */
  cosine: tf.Tensor2D;
  /** One-hot labels, float32 [N, C]. */
  oneHot: tf.Tensor2D;
  bias?: tf.Tensor1D;
  iteration: number;
}

/** The target-class terms handed to {@link MarginLossBase.targetLogit}; each has shape [N]. */
export interface TargetTerms {
  /** cos θ_{y_i}. */
  cosine: tf.Tensor1D;
  /** The logit the target class would get without a margin. */
  plain: tf.Tensor1D;
  /** ‖x_i‖ and ‖w_{y_i}‖. */
  featureNorm: tf.Tensor1D;
  weightNorm: tf.Tensor1D;
}

/**
 * Plumbing shared by the margin losses (the pattern of pytorch-metric-learning's LargeMarginSoftmaxLoss):
 * input validation, cosines and norms, one-hot bookkeeping and the cross-entropy. A loss overrides
 * `plainLogits` (what every class gets) and/or `targetLogit` (what the labelled class gets instead).
 */
export abstract class MarginLossBase<Options extends object> implements MarginLoss {
  // The registry name is written once per loss, as `static readonly lossName = 'cosface';` in the concrete
  // class (see MarginLossClass); `name` and `registerMarginLoss` both read it from there.
  readonly usesBias: boolean = false;
  abstract readonly normalizesWeights: boolean;
  readonly renormalizeWeightsAfterUpdate: boolean = false;

  constructor(readonly options: Readonly<Options>) {
    const name: unknown = (new.target as unknown as { lossName?: unknown }).lossName;
    if (typeof name !== 'string' || name === '') {
      throw new Error(`margin loss class ${new.target.name} needs a static lossName (its registry name)`);
    }
  }

  /** The registry name: the class's static `lossName`. */
  get name(): string {
    return (this.constructor as unknown as { lossName: string }).lossName;
  }

  /** No λ by default (losses with λ mixing extend MultiplicativeMarginLoss). */
  lambdaAt(iteration: number): number | null {
    if (!(Number.isFinite(iteration) && iteration >= 0)) {
      throw new RangeError(`${this.name}.lambdaAt: iteration must be a finite number ≥ 0; got ${iteration}`);
    }
    return null;
  }

  /** Logits of all classes before the target is replaced. Default: ‖x‖‖w‖cos θ = x·w. */
  protected plainLogits(geometry: BatchGeometry): tf.Tensor2D {
    return tf.mul(tf.mul(geometry.featureNorms, geometry.weightNorms), geometry.cosine) as tf.Tensor2D;
  }

  /** The target-class logit. Default: no margin. */
  protected targetLogit(terms: TargetTerms, _geometry: BatchGeometry): tf.Tensor1D {
    return terms.plain;
  }

  /**
   * The loss as one fused-kernel call (MARGIN_SOFTMAX_KERNEL of @sphereface/common: logits, cross-entropy, gradients and
   * metrics together) at a forward `iteration`, or null when it has no fused form: the default, so a new loss works
   * through tfjs ops without one. A loss whose logits the kernel's spec can express overrides this (one line per loss
   * file); a subclass that changes such a loss's logits must override it again (return null). `loss` uses the kernel
   * when this is non-null and the active backend registers it, and tfjs ops otherwise; `logits` always runs ops.
   */
  fusedSpec(_iteration: number): MarginSoftmaxSpec | null {
    return null;
  }

  logits(inputs: MarginLossInputs): tf.Tensor2D {
    validateInputs(this.name, inputs, this.usesBias, !inputs.labelsChecked);
    return tf.tidy(() => this.computeLogits(inputs));
  }

  /** Runs inside `tidy` after validation; override to change how gradients flow (see a-softmax's caffe mode). */
  protected computeLogits(inputs: MarginLossInputs): tf.Tensor2D {
    return this.logitsFromGeometry(batchGeometry(inputs));
  }

  /** Computes the logits from a prepared geometry; subclasses with a custom gradient reuse it. */
  protected logitsFromGeometry(geometry: BatchGeometry): tf.Tensor2D {
    const plain = this.plainLogits(geometry);
    const terms: TargetTerms = {
      cosine: pickTarget(geometry.cosine, geometry.oneHot),
      plain: pickTarget(plain, geometry.oneHot),
      featureNorm: tf.reshape(geometry.featureNorms, [-1]) as tf.Tensor1D,
      weightNorm: pickTarget(tf.broadcastTo(geometry.weightNorms, plain.shape) as tf.Tensor2D, geometry.oneHot),
    };
    const target = this.targetLogit(terms, geometry);
    const shift = tf.expandDims(tf.sub(target, terms.plain), 1);
    return tf.add(plain, tf.mul(geometry.oneHot, shift)) as tf.Tensor2D;
  }

  loss(inputs: MarginLossInputs): tf.Scalar {
    const { loss, metrics } = this.lossAndMetrics(inputs);
    if (metrics) tf.dispose([metrics.accuracy, metrics.meanTargetAngle, metrics.meanFeatureNorm]);
    return loss;
  }

  /** The loss, with the batch's metrics when the fused kernel ran (see `MarginLoss.lossAndMetrics`). */
  lossAndMetrics(inputs: MarginLossInputs): LossAndMetrics {
    if (hasFusedMarginSoftmax()) {
      // The kernel range-checks the labels itself: no read-back here.
      validateInputs(this.name, inputs, this.usesBias, false);
      const spec = this.fusedSpec(inputs.iteration ?? 0);
      if (spec) return fusedLossAndMetrics(inputs, spec);
    }
    const logits = this.logits(inputs);
    const loss = tf.tidy(() => {
      const oneHot = tf.oneHot(inputs.labels, logits.shape[1]) as tf.Tensor2D;
      const result = softmaxCrossEntropy(logits, oneHot);
      logits.dispose();
      return result;
    });
    return { loss, metrics: null };
  }
}

/** Mean over rows of logsumexp(z) − z_y; logSumExp subtracts the row maximum, so it never overflows. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(tf.logSumExp(logits, 1), pickTarget(logits, oneHot))) as tf.Scalar);
}

export function batchGeometry(inputs: MarginLossInputs): BatchGeometry {
  const { features, weights, labels } = inputs;
  const featureNorms = safeNorm(features, 1);
  const weightNorms = safeNorm(weights, 0);
  const cosine = clipCosine(
    tf.div(tf.matMul(features, weights), tf.mul(featureNorms, weightNorms)),
  ) as tf.Tensor2D;
  return {
    features,
    weights,
    featureNorms,
    weightNorms,
    cosine,
    oneHot: tf.oneHot(labels, weights.shape[1]) as tf.Tensor2D,
    bias: inputs.bias,
    iteration: inputs.iteration ?? 0,
  };
}

/** Shapes, dtypes, iteration and bias; the labels' range too when `checkLabels` (a read-back of the labels). */
function validateInputs(name: string, inputs: MarginLossInputs, usesBias: boolean, checkLabels: boolean): void {
  const { features, weights, labels, bias, iteration } = inputs;
  const where = `${name}.logits`;
  if (features.rank !== 2) throw new Error(`${where}: features must be [N, D]; got shape [${features.shape}]`);
  if (weights.rank !== 2) throw new Error(`${where}: weights must be [D, C] (one column per class); got shape [${weights.shape}]`);
  if (features.shape[1] !== weights.shape[0]) {
    throw new Error(`${where}: feature dimension ${features.shape[1]} does not match weights [D, C] = [${weights.shape}]`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== features.shape[0]) {
    throw new Error(`${where}: labels must be [N] with N = ${features.shape[0]}; got shape [${labels.shape}]`);
  }
  if (labels.dtype !== 'int32') throw new Error(`${where}: labels must be int32; got ${labels.dtype}`);
  if (features.dtype !== 'float32' || weights.dtype !== 'float32') {
    throw new Error(`${where}: features and weights must be float32; got ${features.dtype} and ${weights.dtype}`);
  }
  const classes = weights.shape[1];
  if (checkLabels) {
    const values = labels.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (values[i] < 0 || values[i] >= classes) {
        throw new RangeError(`${where}: label ${values[i]} at row ${i} is outside [0, ${classes})`);
      }
    }
  }
  if (iteration !== undefined && !(Number.isFinite(iteration) && iteration >= 0)) {
    throw new RangeError(`${where}: iteration must be a finite number ≥ 0; got ${iteration}`);
  }
  if (bias !== undefined) {
    if (!usesBias) throw new Error(`${where}: this loss has no bias term; do not pass one`);
    if (bias.rank !== 1 || bias.shape[0] !== classes) {
      throw new Error(`${where}: bias must be [C] with C = ${classes}; got shape [${bias.shape}]`);
    }
  }
}
