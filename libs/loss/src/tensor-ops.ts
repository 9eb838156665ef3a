import * as tf from '@tensorflow/tfjs';
import { intervalThresholds } from './psi';

/**
 * Added to squared norms before the square root. It keeps ∂‖v‖/∂v finite at v = 0 (the plain norm's
 * gradient is 0/0 there) and changes a norm by at most 1e-6 in absolute value.
 */
export const NORM_EPSILON = 1e-12;

/** Row norms √(Σ v² + ε) along `axis`, keeping the axis. */
export function safeNorm(v: tf.Tensor2D, axis: 0 | 1): tf.Tensor2D {
  return tf.sqrt(tf.add(tf.sum(tf.square(v), axis, true), NORM_EPSILON)) as tf.Tensor2D;
}

/**
 * Clip cosines to [−1, 1]. Float32 rounding can put x̂·ŵ slightly outside; past ±1 the interval index k
 * of ψ would be wrong and arccos/√(1−c²) would be NaN. The clip passes the gradient inside the range.
 */
export function clipCosine(c: tf.Tensor): tf.Tensor {
  return tf.clipByValue(c, -1, 1);
}

/** Chebyshev polynomial T_m(c) = cos(m·arccos c), by the three-term recurrence (exact gradient, no arccos). */
export function chebyshevT(c: tf.Tensor, m: number): tf.Tensor {
  let previous: tf.Tensor = tf.onesLike(c);
  let current: tf.Tensor = c;
  if (m === 0) return previous;
  for (let n = 1; n < m; n++) {
    const next = tf.sub(tf.mul(tf.mul(c, 2), current), previous);
    previous = current;
    current = next;
  }
  return current;
}

/**
 * Interval index k of ψ for cosines c: the number of thresholds cos(jπ/m) strictly above c. Built from
 * `step` (whose registered gradient is zero) because comparison ops have no gradient and would break autograd.
 */
export function intervalIndex(c: tf.Tensor, m: number): tf.Tensor {
  let k: tf.Tensor = tf.zerosLike(c);
  for (const threshold of intervalThresholds(m)) {
    k = tf.add(k, tf.step(tf.sub(threshold, c)));
  }
  return k;
}

/** ψ as a function of c = cos θ: (−1)^k T_m(c) − 2k. */
export function psiOfCosine(c: tf.Tensor, m: number): tf.Tensor {
  const k = intervalIndex(c, m);
  const sign = tf.sub(1, tf.mul(2, tf.mod(k, 2)));
  return tf.sub(tf.mul(sign, chebyshevT(c, m)), tf.mul(2, k));
}

/** dψ/dc = (−1)^k T_m'(c), with T_m' from the recurrence T'_{n+1} = 2T_n + 2c·T'_n − T'_{n−1}. */
export function psiDerivativeOfCosine(c: tf.Tensor, m: number): tf.Tensor {
  let tPrev: tf.Tensor = tf.onesLike(c);
  let t: tf.Tensor = c;
  let dPrev: tf.Tensor = tf.zerosLike(c);
  let d: tf.Tensor = tf.onesLike(c);
  for (let n = 1; n < m; n++) {
    const tNext = tf.sub(tf.mul(tf.mul(c, 2), t), tPrev);
    const dNext = tf.sub(tf.add(tf.mul(t, 2), tf.mul(tf.mul(c, 2), d)), dPrev);
    [tPrev, t, dPrev, d] = [t, tNext, d, dNext];
  }
  const k = intervalIndex(c, m);
  const sign = tf.sub(1, tf.mul(2, tf.mod(k, 2)));
  return tf.mul(sign, d);
}

/**
 * where(c > threshold, above, otherwise) with a 0/1 mask from `step`: tf.where's condition would come from a
 * comparison op, which has no registered gradient, so autograd through it fails.
 */
export function selectAbove(c: tf.Tensor, threshold: number, above: tf.Tensor, otherwise: tf.Tensor): tf.Tensor {
  const mask = tf.step(tf.sub(c, threshold));
  return tf.add(tf.mul(mask, above), tf.mul(tf.sub(1, mask), otherwise));
}

/** Σ_j v[i, j]·onehot[i, j]: the target-class entry of each row, as a [N] tensor. */
export function pickTarget(values: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(values, oneHot), 1) as tf.Tensor1D;
}
