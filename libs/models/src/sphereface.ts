import * as tf from '@tensorflow/tfjs';
import { SphereConv2D, xavierInitializer } from './layers';

/** Residual units per stage (Table 2; [OS] sfnet.py unit lists). Depth = 4 + 2·Σunits (+ FC). */
export const SPHEREFACE_UNITS: Readonly<Record<number, readonly [number, number, number, number]>> = Object.freeze({
  4: [0, 0, 0, 0],
  10: [0, 1, 2, 0],
  20: [1, 2, 4, 1],
  36: [2, 4, 8, 2],
  64: [3, 8, 16, 3],
});

export const STAGE_CHANNELS = [64, 128, 256, 512] as const;

export interface SphereFaceOptions {
  /** [height, width]; the paper's crop is 112×96, 56×48 is the CPU-scale variant. */
  inputSize?: [number, number];
  /** Scales the conv channels (64/128/256/512 → round(c·m), at least 1). Default 1. */
  widthMultiplier?: number;
  /** Embedding (FC1) size; default 512. */
  embeddingDim?: number;
  /** Base seed for the initialisers (each layer gets seed + its index); default: unseeded. */
  seed?: number;
  /**
   * The xavier layers' (stage convs and FC1) initialiser: Caffe's fan-in filler (default, the authors' prototxts) or
   * Glorot's fan average (PyTorch's xavier_uniform_). The residual convs keep gaussian(0.01) either way.
   */
  xavier?: 'fan-in' | 'fan-avg';
  name?: string;
}

export interface ResolvedSphereFaceOptions {
  depth: number;
  inputSize: [number, number];
  widthMultiplier: number;
  embeddingDim: number;
  seed: number | null;
}

/**
 * SphereFace-{4,10,20,36,64} backbone: input [N,H,W,3] → 512-D embedding (FC1, no classifier).
 * Per stage: 3×3 stride-2 conv (xavier, learned bias) + PReLU, then residual units
 * x + PReLU(conv(PReLU(conv(x)))) with gaussian(0.01) convs whose bias is fixed at 0; no BN, nothing after the sum.
 * FC1: xavier weights, learned bias, no activation.
 */
export function sphereface(depth: number, options: SphereFaceOptions = {}): tf.LayersModel {
  const units = SPHEREFACE_UNITS[depth];
  if (!units) throw new Error(`sphereface: depth ${depth} is not one of ${Object.keys(SPHEREFACE_UNITS).join(', ')}`);
  const [h, w] = options.inputSize ?? [112, 96];
  const m = options.widthMultiplier ?? 1;
  if (!(m > 0)) throw new Error(`sphereface: widthMultiplier must be > 0, got ${m}`);
  const embeddingDim = options.embeddingDim ?? 512;
  const xavier = options.xavier ?? 'fan-in';
  if (xavier !== 'fan-in' && xavier !== 'fan-avg') throw new Error(`sphereface: xavier must be 'fan-in' or 'fan-avg', got ${String(xavier)}`);
  let layerIndex = 0;
  const seed = () => (options.seed === undefined ? undefined : options.seed + layerIndex++);
  const prelu = (name: string) =>
    tf.layers.prelu({ name, alphaInitializer: tf.initializers.constant({ value: 0.25 }), sharedAxes: [1, 2] });

  const input = tf.input({ shape: [h, w, 3], name: 'image' });
  let x: tf.SymbolicTensor = input;
  STAGE_CHANNELS.forEach((channels, s) => {
    const filters = Math.max(1, Math.round(channels * m));
    const stage = `conv${s + 1}`;
    x = new SphereConv2D({ name: `${stage}_1`, filters, strides: 2, init: xavier === 'fan-in' ? 'xavier' : 'xavier-fan-avg', biasTrainable: true, seed: seed() }).apply(x) as tf.SymbolicTensor;
    x = prelu(`${stage}_1_prelu`).apply(x) as tf.SymbolicTensor;
    for (let u = 0; u < units[s]; u++) {
      let y = x;
      for (const k of [0, 1]) {
        const name = `${stage}_${2 + 2 * u + k}`;
        y = new SphereConv2D({ name, filters, strides: 1, init: 'gaussian', biasTrainable: false, seed: seed() }).apply(y) as tf.SymbolicTensor;
        y = prelu(`${name}_prelu`).apply(y) as tf.SymbolicTensor;
      }
      x = tf.layers.add({ name: `${stage}_res${u + 1}` }).apply([x, y]) as tf.SymbolicTensor;
    }
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  const fc = tf.layers.dense({
    name: 'fc5',
    units: embeddingDim,
    kernelInitializer: xavierInitializer(xavier, seed()),
    biasInitializer: 'zeros',
  });
  const out = fc.apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: options.name ?? `sphereface${depth}` });
}

// ---- registry (timm-style) ----

export type ModelFactory = (options: SphereFaceOptions) => tf.LayersModel;
const registry = new Map<string, ModelFactory>();

export function registerModel(name: string, factory: ModelFactory): void {
  if (registry.has(name)) throw new Error(`registerModel: '${name}' is already registered`);
  registry.set(name, factory);
}

export function listModels(): string[] {
  return [...registry.keys()];
}

export function createModel(name: string, options: SphereFaceOptions = {}): tf.LayersModel {
  const factory = registry.get(name);
  if (!factory) throw new Error(`createModel: unknown model '${name}' (registered: ${listModels().join(', ')})`);
  return factory(options);
}

for (const depth of Object.keys(SPHEREFACE_UNITS).map(Number)) registerModel(`sphereface${depth}`, (o) => sphereface(depth, o));
