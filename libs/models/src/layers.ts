import * as tf from '@tensorflow/tfjs';

/**
 * A conv's weight initialiser: 'xavier' is Caffe's xavier filler (uniform ±√(3/fan_in), the authors' prototxts),
 * 'xavier-fan-avg' Glorot's (uniform ±√(6/(fan_in + fan_out)), what PyTorch's xavier_uniform_ and Keras's
 * glorotUniform draw), 'gaussian' N(0, 0.01²).
 */
export type ConvInit = 'xavier' | 'xavier-fan-avg' | 'gaussian';

/** The variance-scaling initialiser of a xavier mode (conv kernels and FC weights alike). */
export function xavierInitializer(mode: 'fan-in' | 'fan-avg', seed?: number): ReturnType<typeof tf.initializers.varianceScaling> {
  // Uniform variance scaling draws from ±√(3·scale/n), n = fan_in or (fan_in + fan_out)/2.
  return tf.initializers.varianceScaling({ scale: 1, mode: mode === 'fan-in' ? 'fanIn' : 'fanAvg', distribution: 'uniform', seed });
}

export interface SphereConv2DArgs {
  filters: number;
  strides: number;
  /** See ConvInit. */
  init: ConvInit;
  /** Caffe lr_mult 0 on the residual convs' bias: it exists (and counts as a parameter) but stays 0. */
  biasTrainable: boolean;
  seed?: number;
  name?: string;
  inputShape?: number[];
}

const CAFFE_PAD: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];

/**
 * Convolution + bias as one FusedConv2D kernel call whose gradient is the one registered below, not tf.fused.conv2d's:
 * that op's custom gradient computes ∂x and ∂filter together, so the first layer also paid for the gradient of the
 * input image, which nothing uses (a whole Conv2DBackpropInput per step). The tape asks only for what it needs.
 */
function convWithBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number): tf.Tensor4D {
  const attrs = { strides, pad: CAFFE_PAD, dataFormat: 'NHWC', dilations: 1, activation: 'linear' };
  return tf.engine().runKernel('FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

// tfjs registers no gradient for the FusedConv2D kernel (its fused op wraps the kernel in a custom gradient, under which
// kernels are not taped), so this one applies only to convWithBias's direct calls.
if (!tf.getGradient('FusedConv2D')) {
  tf.registerGradient({
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const dy4 = dy as tf.Tensor4D;
      if (attrs.activation !== 'linear') throw new Error(`FusedConv2D gradient (@sphereface/models): activation '${String(attrs.activation)}' is not supported`);
      const conv = { strides: attrs.strides, pad: attrs.pad, dataFormat: attrs.dataFormat, dimRoundingMode: attrs.dimRoundingMode };
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy4, filter }, { ...conv, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dy4 }, { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.sum(dy4, [0, 1, 2]),
      };
    },
  });
}

/**
 * A 3×3 convolution with Caffe's symmetric padding of 1. TF's 'same' pads stride-2 convs on even inputs only at the
 * bottom/right, which shifts the sampling grid by one pixel relative to the authors' prototxts; explicit padding does not.
 */
export class SphereConv2D extends tf.layers.Layer {
  static readonly className = 'SphereConv2D';
  readonly filters: number;
  readonly strides: number;
  readonly init: ConvInit;
  readonly biasTrainable: boolean;
  readonly seed?: number;
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  constructor(args: SphereConv2DArgs) {
    super({ name: args.name, inputShape: args.inputShape });
    this.filters = args.filters;
    this.strides = args.strides;
    if (!['xavier', 'xavier-fan-avg', 'gaussian'].includes(args.init)) throw new Error(`SphereConv2D: init must be 'xavier', 'xavier-fan-avg' or 'gaussian', got ${String(args.init)}`);
    this.init = args.init;
    this.biasTrainable = args.biasTrainable;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const cin = shape[shape.length - 1] as number;
    const kernelInit =
      this.init === 'gaussian'
        ? tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: this.seed })
        : xavierInitializer(this.init === 'xavier' ? 'fan-in' : 'fan-avg', this.seed);
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
      return convWithBias(x, this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D, this.strides);
    });
  }

  /**
   * For inference (embedCrops on the native backend): this layer followed by a PReLU with slopes `alpha`, as one
   * FusedConv2D kernel call with activation 'prelu' (the native kernel applies the same PReLU loop to the conv's
   * output as the Prelu kernel does: the same bits). No gradient: FusedConv2D's registered one takes linear only.
   */
  callWithPrelu(x: tf.Tensor4D, alpha: tf.Tensor): tf.Tensor4D {
    const attrs = { strides: this.strides, pad: CAFFE_PAD, dataFormat: 'NHWC', dilations: 1, activation: 'prelu' };
    const inputs = { x, filter: this.kernel.read(), bias: this.bias.read(), preluActivationWeights: alpha };
    return tf.engine().runKernel('FusedConv2D', inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
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
