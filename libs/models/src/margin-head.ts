import * as tf from '@tensorflow/tfjs';
import { getMarginLoss, type MarginLoss, type MarginMetrics } from '@sphereface/loss';

export interface MarginHeadArgs {
  numClasses: number;
  /** A name from @sphereface/loss (e.g. 'a-softmax'). */
  loss: string;
  lossOptions?: Record<string, unknown>;
  seed?: number;
  name?: string;
  inputShape?: number[];
}

export interface HeadBatch {
  features: tf.Tensor2D;
  labels: tf.Tensor1D;
  iteration?: number;
  /** The caller asserts every label is in [0, numClasses) (see MarginLossInputs.labelsChecked). */
  labelsChecked?: boolean;
}

/**
 * A training batch's metrics (float32 scalars, see MarginMetrics in @sphereface/loss): top-1 accuracy of `apply`'s
 * margin-free logits, the mean target angle θ_y in degrees and the mean feature norm.
 */
export type HeadMetrics = MarginMetrics;

/**
 * √(Σ x²) along an axis: tf.norm(x, 'euclidean', axis) with the same bits, but through Square instead of tfjs's
 * Pow(|x|, 2), which the cpu and native backends run as a slow per-element JS loop (18 ms of a 209 ms SphereFace-4 step).
 */
export function euclideanNorm(x: tf.Tensor, axis: number, keepDims = false): tf.Tensor {
  return tf.sqrt(tf.sum(tf.square(x), axis, keepDims));
}

/**
 * The classifier (fc6): class weights [D, C] (xavier, as the authors' MarginInnerProduct; plus a zero-initialised
 * bias [C] only when the loss uses one) and the margin loss from @sphereface/loss. `apply` gives margin-free logits
 * (x·Ŵ when the loss normalises weights, else x·W + b) for prediction; `loss` is the training objective.
 */
export class MarginHead extends tf.layers.Layer {
  static readonly className = 'MarginHead';
  readonly numClasses: number;
  readonly marginLoss: MarginLoss;
  readonly seed?: number;
  private kernel!: tf.LayerVariable;
  private bias: tf.LayerVariable | null = null;

  constructor(args: MarginHeadArgs) {
    super({ name: args.name, inputShape: args.inputShape });
    if (!(Number.isInteger(args.numClasses) && args.numClasses >= 2)) throw new Error(`MarginHead: numClasses must be an integer ≥ 2, got ${args.numClasses}`);
    this.numClasses = args.numClasses;
    this.marginLoss = getMarginLoss(args.loss, args.lossOptions ?? {});
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const dim = shape[shape.length - 1] as number;
    const init = tf.initializers.varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform', seed: this.seed });
    this.kernel = this.addWeight('kernel', [dim, this.numClasses], 'float32', init);
    if (this.marginLoss.usesBias) this.bias = this.addWeight('bias', [this.numClasses], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [(inputShape as tf.Shape)[0], this.numClasses];
  }

  /** Class weights as used by the loss: columns normalised when the loss normalises them. */
  classWeights(): tf.Tensor2D {
    const w = this.kernel.read() as tf.Tensor2D;
    if (!this.marginLoss.normalizesWeights) return w;
    return tf.tidy(() => tf.div(w, tf.add(euclideanNorm(w, 0, true), 1e-12)));
  }

  /** Normalises the stored class-weight columns in place (what the Caffe layer does before each forward). */
  renormalizeWeights(): void {
    if (!this.marginLoss.normalizesWeights) throw new Error(`MarginHead.renormalizeWeights: loss '${this.marginLoss.name}' does not normalise weights`);
    const w = this.classWeights();
    this.kernel.write(w);
    w.dispose();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const logits = tf.matMul(x, this.classWeights());
      return this.bias ? tf.add(logits, this.bias.read()) : logits;
    });
  }

  private lossInputs(batch: HeadBatch) {
    return {
      features: batch.features,
      weights: this.kernel.read() as tf.Tensor2D,
      labels: batch.labels,
      iteration: batch.iteration,
      labelsChecked: batch.labelsChecked,
      ...(this.bias ? { bias: this.bias.read() as tf.Tensor1D } : {}),
    };
  }

  /** Training loss (scalar). */
  loss(batch: HeadBatch): tf.Scalar {
    return this.marginLoss.loss(this.lossInputs(batch));
  }

  /**
   * Training loss and the batch's metrics. Where the backend fuses the loss (@sphereface/native), one kernel computes
   * both; elsewhere the metrics are tfjs ops on `apply` and `targetAngles`. Either way the metrics are kept (tf.keep):
   * they outlive enclosing tidy scopes (a tf.variableGrads around the loss must return the loss only), and the caller
   * disposes them. They carry no gradient.
   */
  lossAndMetrics(batch: HeadBatch): { loss: tf.Scalar; metrics: HeadMetrics } {
    const inputs = this.lossInputs(batch);
    const { loss, metrics } = this.marginLoss.lossAndMetrics?.(inputs) ?? { loss: this.marginLoss.loss(inputs), metrics: null };
    return { loss, metrics: metrics ?? this.metricsOps(batch.features, batch.labels) };
  }

  /** HeadMetrics as tfjs ops (kept, see lossAndMetrics). Under a gradient tape they are recorded off the loss's path. */
  metricsOps(features: tf.Tensor2D, labels: tf.Tensor1D): HeadMetrics {
    return tf.tidy(() => {
      const predicted = tf.argMax(this.apply(features) as tf.Tensor2D, 1);
      return {
        accuracy: tf.keep(tf.mean(tf.cast(tf.equal(predicted, tf.cast(labels, 'int32')), 'float32')) as tf.Scalar),
        meanTargetAngle: tf.keep(tf.mul(tf.mean(this.targetAngles(features, labels)), 180 / Math.PI) as tf.Scalar),
        meanFeatureNorm: tf.keep(tf.mean(euclideanNorm(features, 1)) as tf.Scalar),
      };
    });
  }

  /** Logits with the margin applied (what enters softmax during training). */
  marginLogits(batch: HeadBatch): tf.Tensor2D {
    return this.marginLoss.logits(this.lossInputs(batch));
  }

  /** Angle θ_y (radians) between each feature and its class weight, [N]. */
  targetAngles(features: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const w = tf.gather(this.kernel.read(), labels, 1);
      const cos = tf.div(tf.sum(tf.mul(features, tf.transpose(w)), 1), tf.add(tf.mul(euclideanNorm(features, 1), euclideanNorm(w, 0)), 1e-12));
      return tf.acos(tf.clipByValue(cos, -1, 1)) as tf.Tensor1D;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    // Loss options travel as a JSON string: tfjs rewrites nested config keys to snake_case on save.
    return { ...super.getConfig(), numClasses: this.numClasses, loss: this.marginLoss.name, lossOptions: JSON.stringify(this.marginLoss.options), seed: this.seed ?? null };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { lossOptions, seed, ...rest } = config;
    return new cls({ ...rest, lossOptions: JSON.parse(lossOptions as string), seed: seed ?? undefined } as never);
  }
}
tf.serialization.registerClass(MarginHead);

/** A one-layer model around a MarginHead so it saves and loads with tf.io handlers. */
export function marginHeadModel(args: MarginHeadArgs & { inputDim: number }): { model: tf.LayersModel; head: MarginHead } {
  const { inputDim, ...headArgs } = args;
  const head = new MarginHead({ name: 'fc6', ...headArgs });
  const input = tf.input({ shape: [inputDim], name: 'embedding' });
  const model = tf.model({ inputs: input, outputs: head.apply(input) as tf.SymbolicTensor, name: 'margin_head' });
  return { model, head };
}

/** The MarginHead inside a model made by marginHeadModel (e.g. after loading). */
export function findMarginHead(model: tf.LayersModel): MarginHead {
  const head = model.layers.find((l): l is MarginHead => l instanceof MarginHead);
  if (!head) throw new Error(`findMarginHead: model '${model.name}' has no MarginHead layer`);
  return head;
}
