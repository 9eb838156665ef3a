import * as tf from '@tensorflow/tfjs';
import type { NativeBackendLike } from './backend';
import { f32, sameShape, size, type Attrs, type Fast } from './kernel-args';
import type { NativeAddon } from './loader';

/**
 * ReLU, ReLU6, Step and 2-D pooling on the 'native' backend (csrc/pooling.cc), replacing the cpu backend's
 * per-element JS. kernels.ts registers them with the others: each returns null for what it does not handle, which then
 * runs (and is counted as) the cpu kernel.
 *
 * - Relu, Relu6, Step: loops giving the cpu kernels' bits (−0 → +0, NaN → NaN). Relu's gradient in tfjs is
 *   mul(dy, cast(step(x))), i.e. Step + Multiply, both native; the cast of a float32 is no kernel work.
 * - MaxPool, AvgPool: oneDNN pooling on the NHWC arrays. Max gives the cpu kernel's bits; the average differs from it
 *   in rounding only (oneDNN sums in float, tfjs in double), over the window's input elements as tfjs's (padding
 *   excluded from the divisor).
 * - MaxPoolGrad: oneDNN's backward with the maxima's positions from a training forward run on x (the forward does not
 *   keep them); like the cpu kernel, the first maximum in row-major window order gets the gradient on ties.
 * - Max pooling windows whose elements are all -Infinity or NaN: oneDNN gives the lowest float (and routes their
 *   gradient to an element) where tfjs gives -Infinity (and routes it nowhere). The addon finds them in the output
 *   and returns false, and the cpu kernel runs; NaN among other elements is skipped by both, as tfjs does.
 * - AvgPoolGrad: tfjs's cpu gradient divides by the whole window, padding included (unlike its forward), and so does
 *   this (oneDNN's avg_include_padding).
 *
 * Handled: float32, 4-D (NHWC: tfjs pools nothing else in 2-D), windows that all hold input elements (explicit pads
 * below the window size: 'same' and 'valid' always), output sizes floor rounding gives. The cpu kernel runs 1×1
 * stride-1 pooling (an identity there), int32 inputs, ceil/round output sizes and larger explicit pads.
 */


/** Kinds of pooling in the addon. */
const MAX = 0, AVG_EXCLUDE_PADDING = 1, AVG_INCLUDE_PADDING = 2;



/** The window geometry as the cpu kernel computes it (AvgPoolGrad's passes no rounding mode). */
function poolInfo(xShape: number[], attrs: Attrs, rounding = true): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    rounding ? (attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined) : undefined,
  );
}

/**
 * The addon's pool params [N,H,W,C, KH,KW, OH,OW, strideH,strideW, padTop,padLeft,padBottom,padRight], or null when
 * oneDNN would compute something else: output sizes other than floor rounding's, a window with no input element
 * (explicit pads of the window's size or more), dilation; or for 1×1 stride-1 pooling, which the cpu kernel returns
 * as its input without a copy.
 */
function poolParams(pi: tf.backend_util.Conv2DInfo): number[] | null {
  const { top, left, bottom, right } = pi.padInfo;
  const [fh, fw] = [pi.filterHeight, pi.filterWidth];
  const oh = Math.floor((pi.inHeight + top + bottom - fh) / pi.strideHeight) + 1;
  const ow = Math.floor((pi.inWidth + left + right - fw) / pi.strideWidth) + 1;
  if (pi.dataFormat !== 'channelsLast' || pi.dilationHeight !== 1 || pi.dilationWidth !== 1) return null;
  if (oh !== pi.outHeight || ow !== pi.outWidth || size(pi.outShape) === 0 || size(pi.inShape) === 0) return null;
  if (Math.min(top, left, bottom, right) < 0 || top >= fh || bottom >= fh || left >= fw || right >= fw) return null;
  if (fh === 1 && fw === 1 && sameShape(pi.inShape, pi.outShape)) return null;
  return [
    pi.batchSize, pi.inHeight, pi.inWidth, pi.inChannels, fh, fw, pi.outHeight, pi.outWidth,
    pi.strideHeight, pi.strideWidth, top, left, bottom, right,
  ];
}

export function makePoolingKernels(addon: NativeAddon): Record<string, Fast> {
  const out = (backend: NativeBackendLike, shape: number[], values: Float32Array) => backend.makeTensorInfo(shape, 'float32', values);

  const unary = (f: (x: Float32Array, y: Float32Array, attrs: Attrs) => void): Fast => ({ inputs, backend, attrs = {} }) => {
    const x = f32(backend, inputs.x);
    if (!x) return null;
    const y = backend.alloc(x.length);
    f(x, y, attrs);
    return out(backend, inputs.x.shape, y);
  };

  const pool = (kind: number): Fast => ({ inputs, backend, attrs = {} }) => {
    const x = f32(backend, inputs.x);
    if (!x || inputs.x.shape.length !== 4) return null;
    const pi = poolInfo(inputs.x.shape, attrs);
    const p = poolParams(pi);
    if (!p) return null;
    const y = backend.alloc(size(pi.outShape));
    return addon.pool2d(x, y, p, kind) ? out(backend, pi.outShape, y) : null;
  };

  const poolGrad = (kind: number): Fast => ({ inputs, backend, attrs = {} }) => {
    const { dy, input } = inputs;
    const dyv = f32(backend, dy), x = kind === MAX ? f32(backend, input) : null;
    if (!dyv || (kind === MAX && !x) || input.shape.length !== 4) return null;
    const pi = poolInfo(input.shape, attrs, kind === MAX);
    const p = poolParams(pi);
    if (!p || !sameShape(dy.shape, pi.outShape)) return null;
    const dx = backend.alloc(size(pi.inShape));
    return addon.pool2dGrad(x, dyv, dx, p, kind) ? out(backend, pi.inShape, dx) : null;
  };

  return {
    Relu: unary((x, y) => addon.relu(x, y)),
    Relu6: unary((x, y) => addon.relu6(x, y)),
    Step: unary((x, y, attrs) => addon.step(x, y, (attrs.alpha as number | undefined) ?? 0)),
    MaxPool: pool(MAX),
    AvgPool: pool(AVG_EXCLUDE_PADDING),
    MaxPoolGrad: poolGrad(MAX),
    AvgPoolGrad: poolGrad(AVG_INCLUDE_PADDING),
  };
}
