import * as tf from '@tensorflow/tfjs';
import { SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, type SgdCoefficients } from '@sphereface/common';
import type { NativeBackendLike } from './backend';
import { f32, sameShape, size, type Attrs, type Fast, type KernelArgs } from './kernel-args';
import type { NativeAddon } from './loader';
import { makeMarginSoftmaxKernels } from './margin-softmax-kernel';
import { makePoolingKernels } from './pooling-kernels';

/**
 * Kernels of the 'native' backend: every cpu kernel, with the hot ones replaced by oneDNN calls. Each replacement
 * handles what oneDNN handles (float32, NHWC, floor output rounding, channel-periodic bias/PReLU weights) and hands
 * anything else to the cpu kernel, so the backend accepts every program the cpu backend accepts.
 */

const BACKEND = 'native';
/** Kernel computing both PReLU gradients in one pass; only the native backend has it. */
const PRELU_GRAD = 'SphereFaceNativePreluGrad';

/** Per-kernel counts of oneDNN calls and cpu fallbacks (tests assert the oneDNN path ran). */
const calls = new Map<string, { native: number; fallback: number }>();
export function nativeKernelCalls(): Record<string, { native: number; fallback: number }> {
  return Object.fromEntries([...calls].map(([k, v]) => [k, { ...v }]));
}



/**
 * How `w` broadcasts over `x` when its shape, right-aligned to x's, is x's over one run of axes and 1 elsewhere: element i
 * of x then meets w[floor(i / inner) mod size(w)], inner being the size of x's axes after the run. null otherwise.
 * Covers scalars, biases and PReLU weights (inner 1) and per-row factors such as [N, 1] over [N, C] (inner C).
 */
export function broadcastInner(x: readonly number[], w: readonly number[]): number | null {
  if (w.length > x.length) return null;
  const aligned = [...Array<number>(x.length - w.length).fill(1), ...w];
  const matching = aligned.map((d, i) => d === x[i] && d !== 1);
  const first = matching.indexOf(true), last = matching.lastIndexOf(true);
  if (first < 0) return aligned.every((d) => d === 1) ? 1 : null;
  const runOk = aligned.every((d, i) => (i >= first && i <= last ? d === x[i] : d === 1));
  return runOk ? size(x.slice(last + 1)) : null;
}

/**
 * Whether `w` (bias, PReLU weights) broadcasts over `x` with period size(w): element i of x meets w[i mod size(w)].
 */
export function isPeriodic(x: readonly number[], w: readonly number[]): boolean {
  return broadcastInner(x, w) === 1;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, dilations: unknown): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (dilations ?? 1) as number | [number, number],
    attrs.pad as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW'),
  );
}

/**
 * The addon's conv params: [N,H,W,C, KH,KW,O, OH,OW, strideH,strideW, dilationH,dilationW, padTop,padLeft,padBottom,padRight],
 * or null when oneDNN would size the output differently (NCHW, or a rounding mode other than floor changed it).
 */
function convParams(ci: tf.backend_util.Conv2DInfo): number[] | null {
  if (ci.dataFormat !== 'channelsLast') return null;
  const { top, left, bottom, right } = ci.padInfo;
  const oh = Math.floor((ci.inHeight + top + bottom - ((ci.filterHeight - 1) * ci.dilationHeight + 1)) / ci.strideHeight) + 1;
  const ow = Math.floor((ci.inWidth + left + right - ((ci.filterWidth - 1) * ci.dilationWidth + 1)) / ci.strideWidth) + 1;
  if (oh !== ci.outHeight || ow !== ci.outWidth || Math.min(top, left, bottom, right) < 0) return null;
  return [
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.filterHeight, ci.filterWidth, ci.outChannels,
    ci.outHeight, ci.outWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth, top, left, bottom, right,
  ];
}

/** Bias of a fused op, when it is one value per output channel (the only form oneDNN takes). */
function channelBias(backend: NativeBackendLike, bias: tf.TensorInfo | undefined, channels: number): Float32Array | null | undefined {
  if (!bias) return undefined;
  return size(bias.shape) === channels && isPeriodic([channels], bias.shape) ? f32(backend, bias) : null;
}

/** Fused activations done here: linear and relu by oneDNN post-ops, prelu by the addon's PReLU. */
function fusedActivation(backend: NativeBackendLike, attrs: Attrs, outShape: number[], prelu?: tf.TensorInfo): { relu: boolean; alpha?: Float32Array } | null {
  const act = attrs.activation ?? 'linear';
  if (act === 'linear') return { relu: false };
  if (act === 'relu') return { relu: true };
  if (act === 'prelu' && prelu && isPeriodic(outShape, prelu.shape)) {
    const alpha = f32(backend, prelu);
    return alpha ? { relu: false, alpha } : null;
  }
  return null;
}

function makeKernels(addon: NativeAddon): Record<string, Fast> {
  const out = (backend: NativeBackendLike, shape: number[], values: Float32Array) => backend.makeTensorInfo(shape, 'float32', values);

  const conv2d = (args: KernelArgs, fused: boolean): tf.TensorInfo | null => {
    const { inputs, backend, attrs = {} } = args;
    const x = f32(backend, inputs.x), w = f32(backend, inputs.filter);
    if (!x || !w) return null;
    const ci = convInfo(inputs.x.shape, inputs.filter.shape, attrs, attrs.dilations);
    const p = convParams(ci);
    const bias = fused ? channelBias(backend, inputs.bias, ci.outChannels) : undefined;
    const act = fused ? fusedActivation(backend, attrs, ci.outShape, inputs.preluActivationWeights) : { relu: false };
    if (!p || bias === null || !act) return null;
    const y = backend.alloc(size(ci.outShape));
    addon.conv2d(x, w, bias ?? null, y, p, act.relu);
    if (act.alpha) addon.prelu(y, act.alpha, y);
    return out(backend, ci.outShape, y);
  };

  const batchMatMul = (args: KernelArgs, fused: boolean): tf.TensorInfo | null => {
    const { inputs, backend, attrs = {} } = args;
    const a = inputs.a, b = inputs.b;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
    const ta = Boolean(attrs.transposeA), tb = Boolean(attrs.transposeB);
    const [ra, rb] = [a.shape.length, b.shape.length];
    const m = ta ? a.shape[ra - 1] : a.shape[ra - 2], k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
    const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2], n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
    const [outerA, outerB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
    const [ba, bb] = [size(outerA), size(outerB)];
    // Same batch shape, or one side a single matrix; anything else (and shape errors) goes to the cpu kernel.
    if (k !== kb || !(sameShape(outerA, outerB) || ba === 1 || bb === 1)) return null;
    const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
    const bias = fused ? channelBias(backend, inputs.bias, n) : undefined;
    const act = fused ? fusedActivation(backend, attrs, outShape, inputs.preluActivationWeights) : { relu: false };
    if (bias === null || !act) return null;
    const c = backend.alloc(size(outShape));
    addon.matmul(av, bv, bias ?? null, c, [ba, bb, m, k, n], ta, tb, act.relu);
    if (act.alpha) addon.prelu(c, act.alpha, c);
    return out(backend, outShape, c);
  };

  /** Add/Sub/Multiply/RealDiv when one operand has the output's shape and the other broadcasts as broadcastInner allows. */
  const binary = (op: number): Fast => ({ inputs, backend }) => {
    const { a, b } = inputs;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const [aFull, bFull] = [sameShape(a.shape, outShape), sameShape(b.shape, outShape)];
    const inner = aFull ? broadcastInner(outShape, b.shape) : bFull ? broadcastInner(outShape, a.shape) : null;
    if (size(outShape) === 0 || inner === null) return null;
    const y = backend.alloc(size(outShape));
    addon.binary(op, av, bv, y, inner);
    return out(backend, outShape, y);
  };

  return {
    Add: binary(0),
    Sub: binary(1),
    Multiply: binary(2),
    RealDiv: binary(3),
    Square: ({ inputs, backend }) => {
      const x = f32(backend, inputs.x);
      if (!x) return null;
      const y = backend.alloc(x.length);
      addon.square(x, y);
      return out(backend, inputs.x.shape, y);
    },
    // Reductions over leading axes (bias gradients: NHWC → C) or trailing axes (including all), in one pass and
    // without the transpose the cpu kernel makes to bring reduced axes innermost.
    Sum: ({ inputs, backend, attrs = {} }) => {
      const x = f32(backend, inputs.x), shape = inputs.x.shape, rank = shape.length;
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], shape).sort((p, q) => p - q);
      const k = axes.length;
      const trailing = axes.every((a, i) => a === rank - k + i), leading = axes.every((a, i) => a === i);
      if (!x || k === 0 || x.length === 0 || !(trailing || leading)) return null;
      const [outShape] = tf.backend_util.computeOutAndReduceShapes(shape, axes);
      const split = trailing ? rank - k : k;
      const [rows, cols] = [size(shape.slice(0, split)), size(shape.slice(split))];
      const y = backend.alloc(size(outShape));
      addon.sum(x, y, rows, cols, !trailing);
      return out(backend, attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, y);
    },
    // Row copies instead of the cpu kernel's per-element index arithmetic (the head's target-weight gather, [512, C]
    // → [512, N], took 6.5 ms a step there). batchDims 0 only; out-of-range indices go to the cpu kernel, which throws.
    GatherV2: ({ inputs, backend, attrs = {} }) => {
      const x = f32(backend, inputs.x), shape = inputs.x.shape;
      const indices = backend.data.get(inputs.indices.dataId).values;
      if (!x || inputs.indices.dtype !== 'int32' || (attrs.batchDims ?? 0) !== 0) return null;
      const axis = tf.util.parseAxisParam(attrs.axis as number, shape)[0];
      const axisDim = shape[axis], inner = size(shape.slice(axis + 1)), outer = size(shape.slice(0, axis));
      const idx = indices as Int32Array;
      if (!idx.every((i) => i >= 0 && i < axisDim)) return null;
      const y = backend.alloc(outer * idx.length * inner);
      for (let o = 0, k = 0; o < outer; o++) {
        const base = o * axisDim * inner;
        for (let i = 0; i < idx.length; i++, k += inner) {
          const from = base + idx[i] * inner;
          if (inner === 1) y[k] = x[from];
          else y.set(x.subarray(from, from + inner), k);
        }
      }
      return out(backend, [...shape.slice(0, axis), ...inputs.indices.shape, ...shape.slice(axis + 1)], y);
    },
    // One reversed axis by block copies: the trainer's random mirroring (Reverse over W of a [64, 56, 48, 3] batch) took
    // 0.5 s per step in the cpu kernel, half of a reduced-scale training step.
    Reverse: ({ inputs, backend, attrs = {} }) => {
      const x = f32(backend, inputs.x), shape = inputs.x.shape;
      const axes = [...new Set(tf.util.parseAxisParam(attrs.dims as number | number[], shape))];
      if (!x || axes.length !== 1) return null;
      const axis = axes[0], len = shape[axis], inner = size(shape.slice(axis + 1)), outer = size(shape.slice(0, axis));
      const y = backend.alloc(x.length);
      for (let o = 0; o < outer; o++) {
        const base = o * len * inner;
        for (let i = 0; i < len; i++) {
          const from = base + (len - 1 - i) * inner, to = base + i * inner;
          if (inner < 16) for (let j = 0; j < inner; j++) y[to + j] = x[from + j];
          else y.set(x.subarray(from, from + inner), to);
        }
      }
      return out(backend, shape, y);
    },
    Conv2D: (args) => conv2d(args, false),
    FusedConv2D: (args) => conv2d(args, true),
    Conv2DBackpropInput: ({ inputs, backend, attrs = {} }) => {
      const dy = f32(backend, inputs.dy), w = f32(backend, inputs.filter);
      if (!dy || !w) return null;
      const ci = convInfo(attrs.inputShape as number[], inputs.filter.shape, attrs, 1);
      const p = convParams(ci);
      if (!p || !sameShape(inputs.dy.shape, ci.outShape)) return null;
      const dx = backend.alloc(size(ci.inShape));
      addon.conv2dBackpropInput(dy, w, dx, p);
      return out(backend, ci.inShape, dx);
    },
    Conv2DBackpropFilter: ({ inputs, backend, attrs = {} }) => {
      const x = f32(backend, inputs.x), dy = f32(backend, inputs.dy);
      if (!x || !dy) return null;
      const filterShape = attrs.filterShape as number[];
      const ci = convInfo(inputs.x.shape, filterShape, attrs, 1);
      const p = convParams(ci);
      if (!p || !sameShape(inputs.dy.shape, ci.outShape)) return null;
      const dw = backend.alloc(size(filterShape));
      addon.conv2dBackpropFilter(x, dy, dw, p);
      return out(backend, filterShape, dw);
    },
    BatchMatMul: (args) => batchMatMul(args, false),
    _FusedMatMul: (args) => batchMatMul(args, true),
    Prelu: ({ inputs, backend }) => {
      const x = f32(backend, inputs.x), alpha = f32(backend, inputs.alpha);
      if (!x || !alpha || !isPeriodic(inputs.x.shape, inputs.alpha.shape)) return null;
      const y = backend.alloc(x.length);
      addon.prelu(x, alpha, y);
      return out(backend, inputs.x.shape, y);
    },
    // The trainer's optimizer kernels (no cpu counterpart: @sphereface/models falls back to tfjs ops without them).
    [SGD_MOMENTUM_KERNEL]: ({ inputs, backend, attrs = {} }) => {
      const coefficients = attrs.coefficients as SgdCoefficients[];
      return coefficients.flatMap(({ lr, momentum, decay, scale }, i) => {
        const [wi, gi, vi] = [inputs[`w${i}`], inputs[`g${i}`], inputs[`v${i}`]];
        const w = f32(backend, wi), g = f32(backend, gi), v = f32(backend, vi);
        if (!w || !g || !v || g.length !== w.length || v.length !== w.length) {
          throw new Error(`${SGD_MOMENTUM_KERNEL} (@sphereface/native): float32 w${i}, g${i}, v${i} of one shape required`);
        }
        const w1 = backend.alloc(w.length), v1 = backend.alloc(w.length);
        addon.sgdMomentum(w, g, v, w1, v1, lr, momentum, decay, scale);
        return [out(backend, wi.shape, w1), out(backend, wi.shape, v1)];
      });
    },
    [SUM_OF_SQUARES_KERNEL]: ({ inputs, backend }) => {
      let total = 0;
      for (let i = 0; inputs[`x${i}`]; i++) {
        const x = f32(backend, inputs[`x${i}`]);
        if (!x) throw new Error(`${SUM_OF_SQUARES_KERNEL} (@sphereface/native): float32 x${i} required`);
        total = Math.fround(total + Math.fround(addon.sumOfSquares(x)));
      }
      const y = backend.alloc(1);
      y[0] = total;
      return out(backend, [], y);
    },
    [PRELU_GRAD]: ({ inputs, backend }) => {
      const x = f32(backend, inputs.x), alpha = f32(backend, inputs.alpha), dy = f32(backend, inputs.dy);
      if (!x || !alpha || !dy) throw new Error(`${PRELU_GRAD} (@sphereface/native): float32 inputs required`);
      const dx = backend.alloc(x.length), da = backend.alloc(alpha.length);
      addon.preluGrad(x, alpha, dy, dx, da);
      return [out(backend, inputs.x.shape, dx), out(backend, inputs.alpha.shape, da)];
    },
  };
}

/**
 * Replaces the Prelu gradient with one that, on the native backend, runs PRELU_GRAD instead of tfjs's five
 * element-wise ops (greater, where ×2, mul ×2) and a sum; any other backend keeps tfjs's gradient.
 */
function registerPreluGradient(): void {
  const stock = tf.getGradient('Prelu');
  if (!stock) throw new Error("@sphereface/native: no gradient for 'Prelu' (import @tensorflow/tfjs, not tfjs-core alone)");
  tf.registerGradient({
    kernelName: 'Prelu',
    inputsToSave: ['x', 'alpha'],
    gradFunc: (dy, saved, attrs) => {
      const [x, alpha] = saved;
      if (tf.getBackend() !== BACKEND || !isPeriodic(x.shape, alpha.shape) || x.dtype !== 'float32') {
        return stock.gradFunc(dy, saved, attrs);
      }
      // Both gradients come from one kernel call, made here: the engine runs each input's gradient function in its
      // own tidy, which would dispose a tensor created for the other input. Unused ones go with the gradients() scope.
      const [dx, dalpha] = tf.engine().runKernel(PRELU_GRAD, { x, alpha, dy: dy as tf.Tensor }) as unknown as tf.Tensor[];
      return { x: () => dx, alpha: () => dalpha };
    },
  });
}

let registered = false;

/** Copies every cpu kernel to 'native', then overrides the hot ones with the addon's. Idempotent. */
export function registerNativeKernels(addon: NativeAddon): void {
  if (registered) return;
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: BACKEND });
  for (const [name, fast] of Object.entries({ ...makeKernels(addon), ...makePoolingKernels(addon), ...makeMarginSoftmaxKernels(addon) })) {
    const cpu = tf.getKernel(name, BACKEND);
    if (cpu) tf.unregisterKernel(name, BACKEND);
    const count = { native: 0, fallback: 0 };
    calls.set(name, count);
    tf.registerKernel({
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: ((args: KernelArgs) => {
        const r = fast(args);
        if (r) {
          count.native++;
          return r;
        }
        if (!cpu) throw new Error(`${name} (@sphereface/native): unsupported inputs and no cpu kernel to fall back to`);
        count.fallback++;
        return cpu.kernelFunc(args as never);
      }) as tf.KernelFunc,
    });
  }
  registerPreluGradient();
  registered = true;
}
