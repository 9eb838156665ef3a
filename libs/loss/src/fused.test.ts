/**
 * The fused margin-softmax kernel (MARGIN_SOFTMAX_KERNEL, registered by @sphereface/native's 'native' backend) against
 * the same independent float64 references and tolerances as losses/losses.reference.test.ts: every loss with a fused
 * form, at several iterations (λ values) and m = 1…4; plus the op path's label check and the fallbacks.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernelCalls, registerNativeBackend } from '@sphereface/native';
import { describeNative } from '@sphereface/native/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getMarginLoss, listMarginLosses, MARGIN_SOFTMAX_KERNEL, MarginLossBase } from './index';
import type { LossAndMetrics, MarginLossInputs } from './types';
import { makeReferenceInputs, REFERENCE_C, REFERENCE_N, REFERENCE_VARIANTS } from './testing/cases';
import { importLossFiles } from './testing/discover';
import { finiteDifferenceGradient, referenceCaffeBackward, referenceLoss, REFERENCE_LOGITS, type Matrix } from './testing/reference';
import { disposeInputs, maxAbsDifference, toInputs } from './testing/tensors';

await importLossFiles();

/** The reference test's settings, plus m = 1…4 under the annealing schedule for the ψ losses and both a-softmax gradients. */
const EXTRA: Array<{ name: string; options: Record<string, unknown> }> = [
  ...[1, 2, 3, 4].flatMap((m) => [
    { name: 'a-softmax', options: { m } },
    { name: 'a-softmax', options: { m, gradient: 'caffe' } },
    { name: 'l-softmax', options: { m } },
  ]),
  { name: 'a-softmax-normfea', options: { m: 2 } },
];
const CASES = [...listMarginLosses().map((name) => ({ name, options: {} as Record<string, unknown> })), ...REFERENCE_VARIANTS, ...EXTRA];
const fusedSpecOf = (name: string, options: Record<string, unknown>) => {
  const loss = getMarginLoss(name, options);
  return loss instanceof MarginLossBase ? loss.fusedSpec(1) : null;
};
const FUSED = CASES.filter(({ name, options }) => name in REFERENCE_LOGITS && fusedSpecOf(name, options) !== null);
/** λ of the default schedule: 892.9, 183.8, 16.4 and its floor 5. */
const ITERATIONS = [1, 37, 500, 5000];

const kernelCalls = () => nativeKernelCalls()[MARGIN_SOFTMAX_KERNEL]?.native ?? 0;

/** The loss and its gradients with respect to features, weights (and bias) by tf.grads, as arrays. */
function lossAndGradients(loss: ReturnType<typeof getMarginLoss>, inputs: MarginLossInputs) {
  const wrt = [inputs.features, inputs.weights, ...(inputs.bias ? [inputs.bias] : [])];
  const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) =>
    loss.loss({ ...inputs, features: args[0] as tf.Tensor2D, weights: args[1] as tf.Tensor2D, bias: args[2] as tf.Tensor1D | undefined }),
  )(wrt);
  const result = {
    value: value.dataSync()[0],
    dx: grads[0].arraySync() as Matrix,
    dW: grads[1].arraySync() as Matrix,
    db: grads[2] ? (grads[2].arraySync() as number[]) : undefined,
  };
  tf.dispose([value, ...grads]);
  return result;
}

describe('labelsChecked (tfjs-op path)', () => {
  it('skips the read-back of the labels that checks their range, and only then', () => {
    const loss = getMarginLoss('a-softmax');
    const inputs = toInputs(makeReferenceInputs(1, false));
    const read = vi.spyOn(inputs.labels, 'dataSync');
    tf.dispose([loss.loss(inputs), loss.loss({ ...inputs, labelsChecked: true })]);
    expect(read).toHaveBeenCalledTimes(1);
    // Trusted: an out-of-range label is not caught (its one-hot row is zero).
    const bad = tf.tensor1d(new Array(REFERENCE_N).fill(REFERENCE_C), 'int32');
    expect(() => loss.loss({ ...inputs, labels: bad })).toThrow(RangeError);
    expect(() => loss.loss({ ...inputs, labels: bad, labelsChecked: true }).dispose()).not.toThrow();
    tf.dispose(bad);
    disposeInputs(inputs);
  });

  it('the cpu backend has no fused kernel: lossAndMetrics runs ops and returns no metrics', () => {
    expect(tf.getBackend()).toBe('cpu');
    const inputs = toInputs(makeReferenceInputs(1, false));
    const { loss, metrics } = (getMarginLoss('a-softmax') as MarginLossBase<object>).lossAndMetrics(inputs);
    expect(metrics).toBeNull();
    loss.dispose();
    disposeInputs(inputs);
  });
});

describeNative('fused margin softmax on the native backend', () => {
  beforeAll(async () => {
    registerNativeBackend();
    expect(await tf.setBackend('native')).toBe(true);
  });
  afterAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('covers every registered loss', () => {
    // Not required of a loss (one without a fused form runs ops), but every loss in this repository has one.
    expect(listMarginLosses().filter((name) => fusedSpecOf(name, {}) === null)).toEqual([]);
  });

  describe.each(FUSED)('$name $options', ({ name, options }) => {
    const loss = getMarginLoss(name, options);
    const resolved = loss.options as Record<string, any>;
    const caffe = resolved.gradient === 'caffe';

    it.each(ITERATIONS)('loss and gradients match the float64 reference at iteration %i', (iteration) => {
      for (const seed of [4, 5]) {
        const reference = makeReferenceInputs(seed, loss.usesBias, iteration);
        const inputs = toInputs(reference);
        const before = kernelCalls();
        const got = lossAndGradients(loss, inputs);
        expect(kernelCalls() - before, 'one kernel call, the fused one').toBe(1);
        // The reference test's tolerances: 4 decimals for the loss, 1e-4 relative for gradients against central
        // differences, 1e-5 for the caffe mode against the port of the Caffe layer's backward.
        expect(got.value).toBeCloseTo(referenceLoss(name, resolved, reference), 4);
        if (caffe) {
          const expected = referenceCaffeBackward(resolved as { m: number; lambda: Record<string, number> }, reference);
          for (const key of ['dx', 'dW'] as const) {
            const { diff, scale } = maxAbsDifference(got[key], expected[key]);
            expect(diff, key).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
          }
        } else {
          const f = () => referenceLoss(name, resolved, reference);
          const pairs: Array<[string, Matrix, Matrix]> = [
            ['dx', got.dx, finiteDifferenceGradient(reference.features, f)],
            ['dW', got.dW, finiteDifferenceGradient(reference.weights, f)],
          ];
          if (reference.bias) pairs.push(['db', [got.db!], finiteDifferenceGradient([reference.bias], f)]);
          for (const [key, a, b] of pairs) {
            const { diff, scale } = maxAbsDifference(a, b);
            expect(diff, key).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
          }
        }
        disposeInputs(inputs);
      }
    });
  });

  it('the caffe and exact modes differ (the kernel reads the gradient mode)', () => {
    const inputs = toInputs(makeReferenceInputs(11, false, 2200));
    const exact = lossAndGradients(getMarginLoss('a-softmax', { m: 4 }), inputs);
    const caffe = lossAndGradients(getMarginLoss('a-softmax', { m: 4, gradient: 'caffe' }), inputs);
    expect(caffe.value).toBe(exact.value);
    expect(maxAbsDifference(caffe.dx, exact.dx).diff).toBeGreaterThan(1e-4);
    expect(maxAbsDifference(caffe.dW, exact.dW).diff).toBeGreaterThan(1e-4);
    disposeInputs(inputs);
  });

  it('scales the gradients by the upstream gradient', () => {
    const loss = getMarginLoss('a-softmax');
    const inputs = toInputs(makeReferenceInputs(4, false));
    const once = lossAndGradients(loss, inputs);
    const [dx] = tf.grads((x: tf.Tensor) => tf.mul(loss.loss({ ...inputs, features: x as tf.Tensor2D }), -2.5))([inputs.features]);
    const { diff, scale } = maxAbsDifference((dx.arraySync() as Matrix).map((row) => row.map((v) => v / -2.5)), once.dx);
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(1e-6 * scale);
    dx.dispose();
    disposeInputs(inputs);
  });

  it('rejects an out-of-range label with a RangeError naming its row, without reading the labels back', () => {
    for (const name of ['a-softmax', 'softmax']) {
      const loss = getMarginLoss(name);
      const reference = makeReferenceInputs(1, loss.usesBias);
      const inputs = toInputs(reference);
      const labels = tf.tensor1d([0, 1, 2, REFERENCE_C, 0, 1], 'int32');
      const negative = tf.tensor1d([0, 1, 2, 3, -1, 1], 'int32');
      const reads = [vi.spyOn(labels, 'dataSync'), vi.spyOn(negative, 'dataSync'), vi.spyOn(inputs.labels, 'dataSync')];
      const before = tf.memory().numTensors;
      expect(() => loss.loss({ ...inputs, labels })).toThrow(RangeError);
      expect(() => loss.loss({ ...inputs, labels })).toThrow(`label ${REFERENCE_C} at row 3 is outside [0, ${REFERENCE_C})`);
      expect(() => tf.grads((x: tf.Tensor) => loss.loss({ ...inputs, labels: negative, features: x as tf.Tensor2D }))([inputs.features])).toThrow(
        'label -1 at row 4',
      );
      expect(tf.memory().numTensors, 'no tensors left behind by the failed calls').toBe(before);
      // In-range labels go through, and no labels are read back on the fused path.
      loss.loss(inputs).dispose();
      for (const read of reads) expect(read).not.toHaveBeenCalled();
      tf.dispose([labels, negative]);
      disposeInputs(inputs);
    }
  });

  it('leaks no tensors: loss alone, loss with gradients, and lossAndMetrics (whose metrics the caller disposes)', () => {
    for (const name of ['a-softmax', 'softmax']) {
      const loss = getMarginLoss(name) as MarginLossBase<object>;
      const inputs = toInputs(makeReferenceInputs(2, loss.usesBias));
      const before = tf.memory().numTensors;
      loss.loss(inputs).dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(tf.grads((x: tf.Tensor, w: tf.Tensor) => loss.loss({ ...inputs, features: x as tf.Tensor2D, weights: w as tf.Tensor2D }))([inputs.features, inputs.weights]));
      expect(tf.memory().numTensors).toBe(before);
      let metrics: LossAndMetrics['metrics'] = null;
      const value = tf.tidy(() => {
        const result = loss.lossAndMetrics(inputs);
        metrics = result.metrics;
        return result.loss;
      });
      // Kept: they survive the tidy, which returned only the loss, for the caller to dispose.
      const kept = metrics as LossAndMetrics['metrics'];
      expect(kept).not.toBeNull();
      expect(kept!.accuracy.isDisposed).toBe(false);
      tf.dispose([value, kept!.accuracy, kept!.meanTargetAngle, kept!.meanFeatureNorm]);
      expect(tf.memory().numTensors).toBe(before);
      disposeInputs(inputs);
    }
  });

  it('a loss without a fused form runs tfjs ops on native too', () => {
    class NoFusedForm extends MarginLossBase<Record<string, never>> {
      static readonly lossName = 'no-fused-form';
      readonly normalizesWeights = false;
    }
    const loss = new NoFusedForm({});
    const reference = makeReferenceInputs(3, false);
    const inputs = toInputs(reference);
    const before = kernelCalls();
    const { loss: value, metrics } = loss.lossAndMetrics(inputs);
    expect(kernelCalls()).toBe(before);
    expect(metrics).toBeNull();
    // Its logits are the default ‖x‖‖w‖cos θ: l-softmax's plain logits, i.e. softmax without bias.
    expect(value.dataSync()[0]).toBeCloseTo(referenceLoss('softmax', {}, reference), 4);
    value.dispose();
    disposeInputs(inputs);
  });
});
