import * as tf from '@tensorflow/tfjs';

/**
 * Kernel names a backend may register to run the optimizer's element-wise work in one pass per tensor
 * (@sphereface/native does). Without them the same arithmetic runs as separate tfjs ops: 7 full passes over every
 * weight per step, which a profile of SphereFace-4 on the native backend showed as 14–19 % of a step.
 */
export const SGD_MOMENTUM_KERNEL = 'SphereFaceSgdMomentum';
export const SUM_OF_SQUARES_KERNEL = 'SphereFaceSumOfSquares';

/** One parameter's update coefficients (Caffe SGD). */
export interface SgdCoefficients {
  /** Learning rate × the parameter's lr multiplier. */
  lr: number;
  momentum: number;
  /** Weight decay × the parameter's decay multiplier (0: none). */
  decay: number;
  /** Gradient scale from global-norm clipping (1: none). */
  scale: number;
}

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
