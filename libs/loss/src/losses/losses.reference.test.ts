import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { getMarginLoss, listMarginLosses } from '../index';
import { importLossFiles } from '../testing/discover';
import { makeReferenceInputs, REFERENCE_ITERATION, REFERENCE_VARIANTS } from '../testing/cases';
import {
  finiteDifferenceGradient,
  referenceCaffeBackward,
  referenceLambda,
  referenceLogits,
  referenceLoss,
  REFERENCE_LOGITS,
} from '../testing/reference';
import { autogradGradients, disposeInputs, maxAbsDifference, toInputs } from '../testing/tensors';

// Every file in losses/ registers itself, so a new loss is checked here at its defaults without editing this file.
await importLossFiles();
const REGISTERED = listMarginLosses();

/** Settings other than the defaults, to exercise other branches; every registered loss is also checked at its defaults. */
const VARIANTS = REFERENCE_VARIANTS;
const CASES = [...REGISTERED.map((name) => ({ name, options: {} as Record<string, unknown> })), ...VARIANTS];

describe('float64 references', () => {
  it.each(REGISTERED)('%s has one', (name) => {
    expect(
      Object.keys(REFERENCE_LOGITS),
      `no float64 reference for loss '${name}': add its formula to REFERENCE_LOGITS in src/testing/reference.ts`,
    ).toContain(name);
  });

  it('name only registered losses', () => {
    const unknown = [...Object.keys(REFERENCE_LOGITS), ...VARIANTS.map((c) => c.name)].filter((n) => !REGISTERED.includes(n));
    expect(unknown, 'REFERENCE_LOGITS and VARIANTS may only name registered losses').toEqual([]);
  });
});

const ITERATION = REFERENCE_ITERATION;
const makeInputs = makeReferenceInputs;

// A loss without a reference fails above, by name; its numeric cases would only repeat that failure.
describe.each(CASES.filter(({ name }) => name in REFERENCE_LOGITS))('$name $options against the float64 reference', ({ name, options }) => {
  const loss = getMarginLoss(name, options);
  const resolved = loss.options as Record<string, any>;

  it('reports the λ the reference mixes with (null without λ)', () => {
    const lambda = loss.lambdaAt(ITERATION);
    if (resolved.lambda === undefined) expect(lambda).toBeNull();
    else expect(lambda).toBeCloseTo(referenceLambda(resolved.lambda, ITERATION), 9);
  });

  it.each([1, 2, 3])('logits and loss match (seed %i)', (seed) => {
    const reference = makeInputs(seed, loss.usesBias);
    const inputs = toInputs(reference);
    const logits = loss.logits(inputs);
    const value = loss.loss(inputs);
    const expected = referenceLogits(name, resolved, reference);
    const { diff, scale } = maxAbsDifference(logits.arraySync() as number[][], expected);
    // float32 inputs and arithmetic: relative error of a few ulps of the largest logit.
    expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    expect(value.dataSync()[0]).toBeCloseTo(referenceLoss(name, resolved, reference), 4);
    tf.dispose([logits, value]);
    disposeInputs(inputs);
  });

  it.each([4, 5])('autograd gradients match central differences of the reference (seed %i)', (seed) => {
    const reference = makeInputs(seed, loss.usesBias);
    const inputs = toInputs(reference);
    const { dx, dW } = autogradGradients(loss, inputs);
    const f = () => referenceLoss(name, resolved, reference);
    for (const [got, wrt] of [
      [dx, reference.features],
      [dW, reference.weights],
    ] as const) {
      const { diff, scale } = maxAbsDifference(got, finiteDifferenceGradient(wrt, f));
      expect(diff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
    }
    disposeInputs(inputs);
  });
});

describe("a-softmax gradient: 'caffe' mode reproduces the authors' hand-coded backward", () => {
  it.each([1, 2, 3, 4])('m = %i', (m) => {
    for (const seed of [11, 12, 13]) {
      const iteration = 200 * seed;
      const exact = getMarginLoss('a-softmax', { m });
      const caffe = getMarginLoss('a-softmax', { m, gradient: 'caffe' });
      // The caffe backward ignores the weight normalisation, so a training loop must re-normalise the stored weights.
      expect(caffe.renormalizeWeightsAfterUpdate).toBe(true);
      expect(exact.renormalizeWeightsAfterUpdate).toBe(false);
      const reference = makeInputs(seed, false, iteration);
      const inputs = toInputs(reference);

      // Same forward as the exact mode.
      const a = exact.logits(inputs);
      const b = caffe.logits(inputs);
      expect(maxAbsDifference(a.arraySync() as number[][], b.arraySync() as number[][]).diff).toBe(0);
      tf.dispose([a, b]);

      const got = autogradGradients(caffe, inputs);
      const expected = referenceCaffeBackward(caffe.options as { m: number; lambda: Record<string, number> }, reference);
      for (const key of ['dx', 'dW'] as const) {
        const { diff, scale } = maxAbsDifference(got[key], expected[key]);
        expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      }
      if (m >= 2) {
        // …and differs from the exact gradient, or the mode would be a no-op.
        const { diff } = maxAbsDifference(got.dx, autogradGradients(exact, inputs).dx);
        expect(diff).toBeGreaterThan(1e-4);
      }
      disposeInputs(inputs);
    }
  });
});
