import { SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, type SgdCoefficients } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';

// The kernel names and coefficients are @sphereface/common's (shared with @sphereface/native, which registers them).
export { SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, type SgdCoefficients };

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/** One parameter's SGD step: its weights, gradient, velocity and coefficients. */
export interface SgdUpdate {
  w: tf.Tensor;
  g: tf.Tensor;
  v: tf.Tensor;
  c: SgdCoefficients;
}

/**
 * Caffe's SGD step for each parameter: g ← scale·g + decay·w; v ← momentum·v + lr·g; w ← w − v. Returns [w, v] per
 * update as new tensors; a backend with the fused kernel does all of them in one kernel call. The fused kernel and the
 * op fallback round identically (each product and sum to float32, in this order), so a backend's choice does not
 * change results.
 */
export function sgdMomentum(updates: SgdUpdate[]): Array<[tf.Tensor, tf.Tensor]> {
  if (!hasKernel(SGD_MOMENTUM_KERNEL)) return updates.map((u) => sgdMomentumOps(u.w, u.g, u.v, u.c));
  const inputs: tf.NamedTensorMap = {};
  updates.forEach((u, i) => Object.assign(inputs, { [`w${i}`]: u.w, [`g${i}`]: u.g, [`v${i}`]: u.v }));
  const attrs = { coefficients: updates.map((u) => ({ ...u.c })) } as unknown as tf.NamedAttrMap;
  const out = tf.engine().runKernel(SGD_MOMENTUM_KERNEL, inputs, attrs) as unknown as tf.Tensor[];
  return updates.map((_, i) => [out[2 * i], out[2 * i + 1]]);
}

/** One parameter's sgdMomentum as tfjs ops (the fallback, and the reference a fused kernel must reproduce bit for bit). */
export function sgdMomentumOps(w: tf.Tensor, g: tf.Tensor, v: tf.Tensor, c: SgdCoefficients): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    let grad = c.scale !== 1 ? tf.mul(g, c.scale) : g;
    if (c.decay !== 0) grad = tf.add(grad, tf.mul(w, c.decay));
    const v1 = tf.add(tf.mul(v, c.momentum), tf.mul(grad, c.lr));
    return [tf.sub(w, v1), v1];
  });
}

/** Σ over the tensors of Σ x², a float32 scalar (the squared global norm of gradient clipping), in one kernel call when the backend has it. */
export function sumOfSquares(xs: tf.Tensor[]): tf.Scalar {
  if (xs.length === 0) throw new Error('sumOfSquares: no tensors');
  if (!hasKernel(SUM_OF_SQUARES_KERNEL)) return sumOfSquaresOps(xs);
  return tf.engine().runKernel(SUM_OF_SQUARES_KERNEL, Object.fromEntries(xs.map((x, i) => [`x${i}`, x]))) as tf.Scalar;
}

/** sumOfSquares as tfjs ops: each tensor's Σ x² (cpu's Sum accumulates in a JS double), added with addN in float32. */
export function sumOfSquaresOps(xs: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.addN(xs.map((x) => tf.sum(tf.square(x)))) as tf.Scalar);
}
