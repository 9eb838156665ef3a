import * as tf from '@tensorflow/tfjs';

/**
 * Training kernels for the wasm backend, built from its fast forward Conv2D (XNNPACK):
 * - Conv2DBackpropFilter: missing from tfjs-backend-wasm 4.22.0.
 * - Conv2DBackpropInput: the stock kernel is a naive loop (~0.5 GFLOP/s); replaced by a polyphase
 *   transposed convolution (one forward conv + an interleaving transpose) for dilation 1 / NHWC, stock kernel otherwise.
 * - BatchMatMul with transposeA/B: the stock kernel is 5–8× slower than without; transpose explicitly instead.
 * The conv pair is also registrable on other backends (registerConvGradientKernels), e.g. cpu for benchmarks.
 * See shared/reference/toolchain-notes.md §2.
 */

type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: Attrs };
type TensorInfo = tf.TensorInfo;

const BACKEND = 'wasm';
const convGradientsRegistered = new Set<string>();

/** Wrap a kernel input as a Tensor; the extra reference keeps the caller's data alive when the wrapper is disposed. */
function wrap(backend: tf.KernelBackend, info: TensorInfo | undefined): tf.Tensor {
  if (!info) throw new Error('conv-gradient kernel: missing input');
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** Hand a tensor computed inside a kernel back to the engine as the kernel's output. */
function release(backend: tf.KernelBackend, t: tf.Tensor): TensorInfo {
  backend.incRef(t.dataId);
  const out = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return out;
}

function conv2dInfo(inShape: number[], filterShape: number[], attrs: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

function assertNHWC(kernel: string, attrs: Attrs): void {
  const df = attrs.dataFormat ?? 'NHWC';
  if (df !== 'NHWC') throw new Error(`${kernel} (wasm, @sphereface/models): only NHWC is supported, got dataFormat=${String(df)}`);
}

/** dW[kh,kw,ci,co] = Σ x_pad[n, oh·s+kh, ow·s+kw, ci]·dy[n,oh,ow,co]: a stride-1 conv of xᵀ (batch↔channels) with dyᵀ as a filter dilated by s. */
export function conv2dBackpropFilterViaConv(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], attrs: Attrs): tf.Tensor4D {
  const [kh, kw] = filterShape;
  const i = conv2dInfo(x.shape, filterShape, attrs);
  const [, oh, ow] = dy.shape;
  const { top, left } = i.padInfo;
  const bottom = Math.max((oh - 1) * i.strideHeight + kh - x.shape[1] - top, 0);
  const right = Math.max((ow - 1) * i.strideWidth + kw - x.shape[2] - left, 0);
  return tf.tidy(() => {
    const xt = tf.pad(tf.transpose(x, [3, 1, 2, 0]), [[0, 0], [top, bottom], [left, right], [0, 0]]);
    let r = tf.conv2d(xt as tf.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid', 'NHWC', [i.strideHeight, i.strideWidth]);
    if (r.shape[1] !== kh || r.shape[2] !== kw) r = tf.slice(r, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(r, [1, 2, 0, 3]);
  });
}

/**
 * dX of a conv (dilation 1) as one forward conv. Input row i receives taps kh = r + s·t from dy row q − t, where
 * i + padTop = q·s + r: each phase r is a correlation of dy with the phase's taps reversed, T = ⌈k/s⌉ taps (missing
 * ones zero). All s² phases are output channels of one conv, interleaved afterwards. Whole multiples of s in padTop
 * are absorbed into dy's padding, so stride-1 convs need no crop of the result.
 */
export function conv2dBackpropInputViaConv(dy: tf.Tensor4D, w: tf.Tensor4D, inputShape: number[], attrs: Attrs): tf.Tensor4D {
  const [, H, W, ci] = inputShape;
  const [kh, kw, , co] = w.shape;
  const info = conv2dInfo(inputShape, w.shape, attrs);
  const sh = info.strideHeight, sw = info.strideWidth;
  const { top, left } = info.padInfo;
  const Th = Math.ceil(kh / sh), Tw = Math.ceil(kw / sw);
  const [n, oh, ow] = dy.shape;
  // Grid row q·s + r of the result is input row q·s + r − offset; Q rows of phases cover the H input rows.
  const [ah, offH] = [Math.floor(top / sh), top % sh], [aw, offW] = [Math.floor(left / sw), left % sw];
  const Qh = Math.ceil((H + offH) / sh), Qw = Math.ceil((W + offW) / sw);
  return tf.tidy(() => {
    const wp = tf.pad(w, [[0, Th * sh - kh], [0, Tw * sw - kw], [0, 0], [0, 0]]);
    const f = tf.reshape(
      tf.transpose(tf.reverse(tf.reshape(wp, [Th, sh, Tw, sw, ci, co]), [0, 2]), [0, 2, 5, 1, 3, 4]),
      [Th, Tw, co, sh * sw * ci],
    ) as tf.Tensor4D;
    const dyp = padOrCrop(dy, [Th - 1 - ah, Qh - oh + ah], [Tw - 1 - aw, Qw - ow + aw]);
    const y = tf.conv2d(dyp, f, 1, 'valid');
    // Interleave the phases: [N,Qh,Qw,(rh,rw,ci)] → [N,Qh·sh,Qw·sw,ci]. A 4-D transpose, ~9× faster on wasm than DepthToSpace.
    const grid =
      sh === 1 && sw === 1
        ? y
        : tf.reshape(tf.transpose(tf.reshape(y, [n * Qh, Qw, sh, sw * ci]), [0, 2, 1, 3]), [n, Qh * sh, Qw * sw, ci]);
    const exact = offH === 0 && offW === 0 && Qh * sh === H && Qw * sw === W;
    return (exact ? grid : tf.slice(grid, [0, offH, offW, 0], [-1, H, W, -1])) as tf.Tensor4D;
  });
}

/** Pads rows/cols of an NHWC tensor by [before, after]; negative amounts crop. */
function padOrCrop(x: tf.Tensor4D, [t, b]: [number, number], [l, r]: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const cropped = t < 0 || b < 0 || l < 0 || r < 0 ? tf.slice(x, [0, Math.max(-t, 0), Math.max(-l, 0), 0], [-1, h - Math.max(-t, 0) - Math.max(-b, 0), w - Math.max(-l, 0) - Math.max(-r, 0), -1]) : x;
  return tf.pad(cropped, [[0, 0], [Math.max(t, 0), Math.max(b, 0)], [Math.max(l, 0), Math.max(r, 0)], [0, 0]]);
}

function conv2dBackpropFilterKernel({ inputs, backend, attrs = {} }: KernelArgs): TensorInfo {
  assertNHWC('Conv2DBackpropFilter', attrs);
  const out = tf.tidy(() =>
    conv2dBackpropFilterViaConv(wrap(backend, inputs.x) as tf.Tensor4D, wrap(backend, inputs.dy) as tf.Tensor4D, attrs.filterShape as number[], attrs),
  );
  return release(backend, out);
}

function isPlainConv(attrs: Attrs): boolean {
  const d = attrs.dilations;
  const dil = d === undefined || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
  return dil && (attrs.dataFormat ?? 'NHWC') === 'NHWC';
}

/**
 * Registers the conv-based Conv2DBackpropFilter / Conv2DBackpropInput on `backendName`, replacing existing ones
 * (the stock kernel stays the fallback for dilated / NCHW convs). For 'cpu' this is a speed option
 * for benchmarks only: the tests use the stock cpu kernels as the reference.
 */
export function registerConvGradientKernels(backendName: string): void {
  if (convGradientsRegistered.has(backendName)) return;
  const stockInput = tf.getKernel('Conv2DBackpropInput', backendName);
  if (!stockInput) throw new Error(`registerConvGradientKernels: backend '${backendName}' has no Conv2DBackpropInput (is its package imported?)`);
  const stockFilter = tf.getKernel('Conv2DBackpropFilter', backendName);
  if (stockFilter) tf.unregisterKernel('Conv2DBackpropFilter', backendName);
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    setupFunc: stockFilter?.setupFunc,
    kernelFunc: ((args: KernelArgs) => {
      if (stockFilter && !isPlainConv(args.attrs ?? {})) return stockFilter.kernelFunc(args as never);
      return conv2dBackpropFilterKernel(args);
    }) as tf.KernelFunc,
  });
  tf.unregisterKernel('Conv2DBackpropInput', backendName);
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName,
    setupFunc: stockInput.setupFunc, // binds the stock wasm function used for the fallback
    kernelFunc: ((args: KernelArgs) => {
      const { inputs, backend, attrs = {} } = args;
      if (!isPlainConv(attrs)) return stockInput.kernelFunc(args as never);
      const out = tf.tidy(() =>
        conv2dBackpropInputViaConv(wrap(backend, inputs.dy) as tf.Tensor4D, wrap(backend, inputs.filter) as tf.Tensor4D, attrs.inputShape as number[], attrs),
      );
      return release(backend, out);
    }) as tf.KernelFunc,
  });
  convGradientsRegistered.add(backendName);
}

function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/** Registers the training kernels on the wasm backend. Idempotent; call before or after setBackend('wasm'). */
let wasmMatMulRegistered = false;

export function registerWasmTrainingKernels(): void {
  if (wasmMatMulRegistered) return;
  const stockMatMul = tf.getKernel('BatchMatMul', BACKEND);
  if (!stockMatMul) throw new Error('registerWasmTrainingKernels: import @tensorflow/tfjs-backend-wasm first (wasm kernels not found)');
  if (!convGradientsRegistered.has(BACKEND) && tf.getKernel('Conv2DBackpropFilter', BACKEND)) {
    throw new Error('registerWasmTrainingKernels: wasm already has Conv2DBackpropFilter; this shim targets tfjs-backend-wasm 4.22.0');
  }
  tf.unregisterKernel('BatchMatMul', BACKEND);
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: BACKEND,
    setupFunc: stockMatMul.setupFunc,
    kernelFunc: ((args: KernelArgs) => {
      const { inputs, backend, attrs = {} } = args;
      const ta = Boolean(attrs.transposeA), tb = Boolean(attrs.transposeB);
      if (!ta && !tb) return stockMatMul.kernelFunc(args as never);
      const plain = (a: tf.Tensor, b: tf.Tensor) =>
        stockMatMul.kernelFunc({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } } as never) as TensorInfo;
      const a = wrap(backend, inputs.a), b = wrap(backend, inputs.b);
      const [m, k] = ta ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
      const n = tb ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
      // Either transpose the flagged operands, or (2-D only) compute Cᵀ = op(B)ᵀ·op(A)ᵀ and transpose the m×n result,
      // whichever moves fewer elements: dX of a wide FC layer (dy·Wᵀ, W = 21504×512) is then a 32×512 transpose.
      const direct = (ta ? m * k : 0) + (tb ? n * k : 0);
      const flipped = (ta ? 0 : m * k) + (tb ? 0 : n * k) + m * n;
      let out: TensorInfo;
      if (a.rank === 2 && b.rank === 2 && flipped < direct) {
        const ct = tf.tidy(() => {
          const lhs = tb ? b : swapLast(b), rhs = ta ? a : swapLast(a);
          const info = plain(lhs, rhs);
          return swapLast(tf.engine().makeTensorFromTensorInfo(info));
        });
        out = release(backend, ct);
      } else {
        const [a2, b2] = [ta ? swapLast(a) : a, tb ? swapLast(b) : b];
        out = plain(a2, b2);
        tf.dispose([a2, b2]);
      }
      tf.dispose([a, b]);
      return out;
    }) as tf.KernelFunc,
  });
  wasmMatMulRegistered = true;
  registerConvGradientKernels(BACKEND);
}
