import { SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, type SgdCoefficients } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';

// The kernel names and coefficients are @sphereface/common's (shared with @sphereface/native, which registers them).
export { SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, type SgdCoefficients };

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/**
 * Caffe's SGD step for one parameter: g ← scale·g + decay·w; v ← momentum·v + lr·g; w ← w − v. Returns [w, v] as new
 * tensors. The fused kernel and the op fallback round identically (each product and sum to float32, in this order),
 * so a backend's choice does not change results.
 */
export function sgdMomentum(w: tf.Tensor, g: tf.Tensor, v: tf.Tensor, c: SgdCoefficients): [tf.Tensor, tf.Tensor] {
  if (!hasKernel(SGD_MOMENTUM_KERNEL)) return sgdMomentumOps(w, g, v, c);
  const [w1, v1] = tf.engine().runKernel(SGD_MOMENTUM_KERNEL, { w, g, v }, { ...c }) as unknown as tf.Tensor[];
  return [w1, v1];
}

/** sgdMomentum as tfjs ops (the fallback, and the reference a fused kernel must reproduce bit for bit). */
export function sgdMomentumOps(w: tf.Tensor, g: tf.Tensor, v: tf.Tensor, c: SgdCoefficients): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    let grad = c.scale !== 1 ? tf.mul(g, c.scale) : g;
    if (c.decay !== 0) grad = tf.add(grad, tf.mul(w, c.decay));
    const v1 = tf.add(tf.mul(v, c.momentum), tf.mul(grad, c.lr));
    return [tf.sub(w, v1), v1];
  });
}

/** Σ x² as a float32 scalar (accumulated in double by the fused kernel and by tfjs's cpu Sum alike). */
export function sumOfSquares(x: tf.Tensor): tf.Scalar {
  if (!hasKernel(SUM_OF_SQUARES_KERNEL)) return sumOfSquaresOps(x);
  return tf.engine().runKernel(SUM_OF_SQUARES_KERNEL, { x }) as tf.Scalar;
}

/** sumOfSquares as tfjs ops. */
export function sumOfSquaresOps(x: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.square(x)));
}
