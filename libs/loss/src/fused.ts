import * as tf from '@tensorflow/tfjs';
import { MARGIN_SOFTMAX_KERNEL, type MarginSoftmaxSpec } from '@sphereface/common';
import type { LossAndMetrics, MarginLossInputs } from './types';

export { MARGIN_SOFTMAX_KERNEL, type MarginSoftmaxSpec };

/** Whether the active backend registers the fused margin-softmax kernel (e.g. @sphereface/native's 'native'). */
export function hasFusedMarginSoftmax(): boolean {
  return tf.getKernel(MARGIN_SOFTMAX_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Runs f in a scope named 'SphereFaceMarginSoftmax__op', as tf.op names the scopes of tfjs's ops: tf.profile then lists
 * the custom-gradient node under that name, which profilers tell apart from the kernel it contains by the suffix.
 */
const inOpScope = tf.op({ SphereFaceMarginSoftmax_: (f: () => tf.Scalar) => f() });

/**
 * The loss and metrics from one MARGIN_SOFTMAX_KERNEL call. The kernel computes the gradients with the loss; they are
 * kept for the backward pass (saved only while a gradient tape records, else disposed at once) and scaled there by
 * the upstream gradient. Inputs are validated by the caller except the labels' range, which the kernel checks.
 */
export function fusedLossAndMetrics(inputs: MarginLossInputs, spec: MarginSoftmaxSpec): LossAndMetrics {
  const { features, weights, labels, bias } = inputs;
  let metrics: tf.Scalar[] = [];
  const forward = (...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, w, b] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D | undefined];
    const kernelInputs: tf.NamedTensorMap = b ? { x, w, labels, bias: b } : { x, w, labels };
    const outputs = tf.engine().runKernel(MARGIN_SOFTMAX_KERNEL, kernelInputs, spec as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
    const [loss, accuracy, angle, norm, ...gradients] = outputs;
    // The forward runs in a tidy that keeps only `value`: the metrics leave it kept, the gradients through `save`.
    metrics = [accuracy, angle, norm].map((t) => tf.keep(t as tf.Scalar));
    save(gradients);
    return {
      value: loss as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((g) => tf.mul(g, dy)),
    };
  };
  // customGrad's declared type erases the argument types; the cast restores them.
  const withGradients = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  const loss = inOpScope(() => (bias ? withGradients(features, weights, bias) : withGradients(features, weights)) as tf.Scalar);
  const [accuracy, meanTargetAngle, meanFeatureNorm] = metrics;
  return { loss, metrics: { accuracy, meanTargetAngle, meanFeatureNorm } };
}
