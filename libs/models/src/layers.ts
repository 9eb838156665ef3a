import * as tf from '@tensorflow/tfjs';

export interface SphereConv2DArgs {
  filters: number;
  strides: number;
  /** 'xavier' (Caffe: uniform ±√(3/fan_in)) or 'gaussian' (N(0, 0.01²)). */
  init: 'xavier' | 'gaussian';
  /** Caffe lr_mult 0 on the residual convs' bias: it exists (and counts as a parameter) but stays 0. */
  biasTrainable: boolean;
  seed?: number;
  name?: string;
  inputShape?: number[];
}

/**
 * A 3×3 convolution with Caffe's symmetric padding of 1. TF's 'same' pads stride-2 convs on even inputs only at the
 * bottom/right, which shifts the sampling grid by one pixel relative to the authors' prototxts; explicit padding does not.
 */
export class SphereConv2D extends tf.layers.Layer {
  static readonly className = 'SphereConv2D';
  readonly filters: number;
  readonly strides: number;
  readonly init: 'xavier' | 'gaussian';
  readonly biasTrainable: boolean;
  readonly seed?: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  constructor(args: SphereConv2DArgs) {
    super({ name: args.name, inputShape: args.inputShape });
    this.filters = args.filters;
    this.strides = args.strides;
    this.init = args.init;
    this.biasTrainable = args.biasTrainable;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const cin = shape[shape.length - 1] as number;
    const kernelInit =
      this.init === 'xavier'
        ? tf.initializers.varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'uniform', seed: this.seed })
        : tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: this.seed });
    this.kernel = this.addWeight('kernel', [3, 3, cin, this.filters], 'float32', kernelInit);
    this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros(), undefined, this.biasTrainable);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = inputShape as tf.Shape;
    const out = (d: number | null) => (d === null ? null : Math.floor((d + 2 - 3) / this.strides) + 1);
    return [n, out(h), out(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return tf.fused.conv2d({
        x,
        filter: this.kernel.read() as tf.Tensor4D,
        strides: this.strides,
        pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
        bias: this.bias.read(),
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, strides: this.strides, init: this.init, biasTrainable: this.biasTrainable, seed: this.seed ?? null };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { seed, ...rest } = config;
    return new cls({ ...rest, seed: seed ?? undefined } as never);
  }
}
tf.serialization.registerClass(SphereConv2D);
