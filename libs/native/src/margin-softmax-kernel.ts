import type * as tf from '@tensorflow/tfjs';
import { MARGIN_SOFTMAX_KERNEL, type MarginSoftmaxSpec } from '@sphereface/common';
import type { NativeBackendLike } from './backend';
import type { Fast } from './kernel-args';
import type { NativeAddon } from './loader';

/**
 * MARGIN_SOFTMAX_KERNEL on the 'native' backend (csrc/margin_softmax.cc): the margin-softmax head of
 * @sphereface/loss (class-weight FC, margin, mean softmax cross-entropy, its gradients and the trainer's metrics) in
 * one addon call with three oneDNN matmuls, instead of ~100 tfjs kernels per training step. kernels.ts registers it
 * with the others; it has no cpu counterpart (@sphereface/loss runs tfjs ops on backends without it).
 */


const SCALES: Record<MarginSoftmaxSpec['scale'], number> = { linear: 0, feature: 1, 'feature-weight': 2, fixed: 3 };

/** The spec as the addon's 7 numbers: [scale, s, target, p0, p1, p2, caffe] (see csrc/margin_softmax.cc). */
export function encodeMarginSoftmaxSpec(spec: MarginSoftmaxSpec): number[] {
  const scale = SCALES[spec.scale];
  if (scale === undefined) throw new Error(`${MARGIN_SOFTMAX_KERNEL}: unknown scale '${String(spec.scale)}'`);
  if (spec.scale === 'fixed' && !(typeof spec.s === 'number' && spec.s > 0)) throw new Error(`${MARGIN_SOFTMAX_KERNEL}: the fixed scale needs s > 0`);
  const t = spec.target;
  const [kind, params]: [number, number[]] =
    t.kind === 'none' ? [0, []]
    : t.kind === 'psi' ? [1, [t.m, t.lambda]]
    : t.kind === 'cosine' ? [2, [t.m]]
    : t.kind === 'angular' ? [t.easyMargin ? 4 : 3, [t.m]]
    : t.kind === 'combined' ? [5, [t.m1, t.m2, t.m3]]
    : [-1, []];
  if (kind < 0) throw new Error(`${MARGIN_SOFTMAX_KERNEL}: unknown target '${String((t as { kind: unknown }).kind)}'`);
  if (!params.every(Number.isFinite)) throw new Error(`${MARGIN_SOFTMAX_KERNEL}: non-finite target parameters ${JSON.stringify(t)}`);
  const [p0 = 0, p1 = 0, p2 = 0] = params;
  return [scale, spec.s ?? 0, kind, p0, p1, p2, spec.gradient === 'caffe' ? 1 : 0];
}

export function makeMarginSoftmaxKernels(addon: NativeAddon): Record<string, Fast> {
  const out = (backend: NativeBackendLike, shape: number[], values: Float32Array) => backend.makeTensorInfo(shape, 'float32', values);
  return {
    [MARGIN_SOFTMAX_KERNEL]: ({ inputs, backend, attrs = {} }) => {
      const { x, w, labels, bias } = inputs;
      const values = (t: tf.TensorInfo) => backend.data.get(t.dataId).values;
      const [xv, wv, lv, bv] = [values(x), values(w), values(labels), bias ? values(bias) : null];
      const float = (v: unknown) => v instanceof Float32Array;
      if (
        x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[0] || labels.shape.length !== 1 || labels.shape[0] !== x.shape[0] ||
        !float(xv) || !float(wv) || !(lv instanceof Int32Array) || (bias && (!float(bv) || bias.shape.length !== 1 || bias.shape[0] !== w.shape[1]))
      ) {
        throw new Error(
          `${MARGIN_SOFTMAX_KERNEL} (@sphereface/native): float32 x [N, D], w [D, C], int32 labels [N] and optional float32 bias [C] required;` +
            ` got x [${x.shape}] ${x.dtype}, w [${w.shape}] ${w.dtype}, labels [${labels.shape}] ${labels.dtype}${bias ? `, bias [${bias.shape}] ${bias.dtype}` : ''}`,
        );
      }
      const [n, d] = x.shape, c = w.shape[1];
      const loss = backend.alloc(1), metrics = new Float32Array(3);
      const dx = backend.alloc(n * d), dW = backend.alloc(d * c), db = bias ? backend.alloc(c) : null;
      const spec = encodeMarginSoftmaxSpec(attrs as unknown as MarginSoftmaxSpec);
      addon.marginSoftmax(xv as Float32Array, wv as Float32Array, lv, (bv as Float32Array | null) ?? null, [n, d, c], spec, loss, metrics, dx, dW, db);
      const scalar = (v: number) => {
        const a = backend.alloc(1);
        a[0] = v;
        return out(backend, [], a);
      };
      return [
        out(backend, [], loss),
        scalar(metrics[0]),
        scalar(metrics[1]),
        scalar(metrics[2]),
        out(backend, x.shape, dx),
        out(backend, w.shape, dW),
        ...(db ? [out(backend, [c], db)] : []),
      ];
    },
  };
}
