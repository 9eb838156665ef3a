import * as tf from '@tensorflow/tfjs';
import type { MarginLoss } from '../types';
import type { Matrix, ReferenceInputs } from './reference';

export function toInputs(inputs: ReferenceInputs, iteration = inputs.iteration) {
  return {
    features: tf.tensor2d(inputs.features),
    weights: tf.tensor2d(inputs.weights),
    labels: tf.tensor1d(inputs.labels, 'int32'),
    bias: inputs.bias ? tf.tensor1d(inputs.bias) : undefined,
    iteration,
  };
}

/** Autograd gradients of loss.loss w.r.t. features and weights, as nested arrays. */
export function autogradGradients(loss: MarginLoss, inputs: ReturnType<typeof toInputs>): { dx: Matrix; dW: Matrix } {
  const [dx, dW] = tf.grads((features: tf.Tensor, weights: tf.Tensor) =>
    loss.loss({ ...inputs, features: features as tf.Tensor2D, weights: weights as tf.Tensor2D }),
  )([inputs.features, inputs.weights]);
  const result = { dx: dx.arraySync() as Matrix, dW: dW.arraySync() as Matrix };
  dx.dispose();
  dW.dispose();
  return result;
}

export function disposeInputs(inputs: ReturnType<typeof toInputs>): void {
  tf.dispose([inputs.features, inputs.weights, inputs.labels, ...(inputs.bias ? [inputs.bias] : [])]);
}

/** max |a − b| over all entries, and max |b| for relative comparisons. */
export function maxAbsDifference(a: Matrix, b: Matrix): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  a.forEach((row, i) =>
    row.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    }),
  );
  return { diff, scale };
}
