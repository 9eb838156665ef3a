/**
 * Conformance suite run over every registered margin loss (timm-style). Loss files are discovered from the
 * losses/ folder, so a new loss file is checked here without editing this suite.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getMarginLoss, getMarginLossDefinition, listMarginLosses, MarginLossBase, registerMarginLoss, SoftmaxLoss } from './index';
import type { MarginLoss, MarginLossInputs } from './types';
import { randomMatrix, seededRandom } from './testing/reference';
import { importLossFiles, LOSS_FILES, LOSSES_FOLDER } from './testing/discover';

await importLossFiles();

const N = 8;
const D = 6;
const C = 5;
const ITERATION = 500;

function batch(seed: number, loss: MarginLoss, features?: number[][]): MarginLossInputs {
  const random = seededRandom(seed);
  return {
    features: tf.tensor2d(features ?? randomMatrix(N, D, random, 2)),
    weights: tf.tensor2d(randomMatrix(D, C, seededRandom(seed + 1000), 1)),
    labels: tf.tensor1d(Array.from({ length: features?.length ?? N }, (_, i) => i % C), 'int32'),
    bias: loss.usesBias ? tf.tensor1d(Array.from({ length: C }, () => random() - 0.5)) : undefined,
    iteration: ITERATION,
  };
}

function dispose(inputs: MarginLossInputs): void {
  tf.dispose([inputs.features, inputs.weights, inputs.labels, ...(inputs.bias ? [inputs.bias] : [])]);
}

function allFinite(t: tf.Tensor): boolean {
  return Array.from(t.dataSync()).every(Number.isFinite);
}

describe('registry', () => {
  it('registers every file in losses/ and exports each from losses/index.ts', () => {
    const barrel = readFileSync(`${LOSSES_FOLDER}index.ts`, 'utf8');
    for (const file of LOSS_FILES) {
      expect(barrel, `add "export * from './${file.replace(/\.ts$/, '')}';" to losses/index.ts`).toContain(
        `from './${file.replace(/\.ts$/, '')}'`,
      );
    }
    expect(listMarginLosses().length).toBeGreaterThanOrEqual(LOSS_FILES.length);
    expect(listMarginLosses()).toEqual(
      expect.arrayContaining(['softmax', 'a-softmax', 'l-softmax', 'normface', 'cosface', 'arcface', 'combined']),
    );
  });

  it('names the registered losses when a name is unknown, and rejects unknown options', () => {
    expect(() => getMarginLoss('sphereface')).toThrow(/unknown margin loss 'sphereface'; registered: .*a-softmax/);
    expect(() => getMarginLoss('a-softmax', { margin: 4 })).toThrow(/no option 'margin'; options: m, lambda, gradient/);
    expect(() => getMarginLoss('a-softmax', { m: 2.5 })).toThrow(/integer/);
    expect(() => getMarginLoss('cosface', { s: 0 })).toThrow(/'s' must be > 0/);
    expect(() => getMarginLoss('a-softmax', { gradient: 'fast' })).toThrow(/exact, caffe/);
  });

  it('refuses to register a name twice, or a class without a kebab-case lossName', () => {
    class Again extends SoftmaxLoss {}
    expect(() => registerMarginLoss({ loss: Again, summary: '', reference: '', defaults: {} })).toThrow(
      /margin loss 'softmax' is already registered/,
    );
    class Unnamed extends MarginLossBase<Record<string, never>> {
      static readonly lossName = 'Not Kebab';
      readonly normalizesWeights = false;
    }
    expect(() => registerMarginLoss({ loss: Unnamed, summary: '', reference: '', defaults: {} })).toThrow(/lower-case kebab-case/);
  });

  it("refuses to create a loss whose class has no lossName", () => {
    class Nameless extends MarginLossBase<Record<string, never>> {
      readonly normalizesWeights = false;
    }
    expect(() => new Nameless({})).toThrow(/margin loss class Nameless needs a static lossName/);
  });
});

describe.each(listMarginLosses())('conformance: %s', (name) => {
  const loss = getMarginLoss(name);

  it('is named by its registry name (a saved margin head restores its loss by this name)', () => {
    expect(loss.name).toBe(name);
    expect(getMarginLossDefinition(name).name).toBe(name);
  });

  it('options are resolved, JSON-serialisable, and recreate the same loss', () => {
    const json = JSON.parse(JSON.stringify(loss.options));
    expect(json).toEqual(loss.options);
    const again = getMarginLoss(name, json);
    const inputs = batch(1, loss);
    const a = loss.logits(inputs);
    const b = again.logits(inputs);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([a, b]);
    dispose(inputs);
  });

  it('gives [N, C] float32 logits and a scalar loss equal to their mean cross-entropy, without leaking tensors', () => {
    const inputs = batch(2, loss);
    const before = tf.memory().numTensors;
    const logits = loss.logits(inputs);
    const value = loss.loss(inputs);
    const grads = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      loss.loss({ ...inputs, features: x as tf.Tensor2D, weights: w as tf.Tensor2D }),
    )([inputs.features, inputs.weights]);
    expect(logits.shape).toEqual([N, C]);
    expect(logits.dtype).toBe('float32');
    expect(value.rank).toBe(0);
    expect(allFinite(logits) && allFinite(value)).toBe(true);
    // The mean over rows of log Σ_j exp(z_j) − z_y, recomputed in float64 from the logits and labels.
    const rows = logits.arraySync() as number[][];
    const labels = inputs.labels.arraySync() as number[];
    const crossEntropy = (row: number[], y: number) => {
      const max = Math.max(...row);
      return max + Math.log(row.reduce((sum, z) => sum + Math.exp(z - max), 0)) - row[y];
    };
    const expected = rows.reduce((sum, row, i) => sum + crossEntropy(row, labels[i]), 0) / rows.length;
    const largest = Math.max(1, ...rows.flat().map(Math.abs));
    expect(Math.abs(value.dataSync()[0] - expected)).toBeLessThanOrEqual(1e-6 * largest);
    tf.dispose([logits, value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
    dispose(inputs);
  });

  it('stays finite, with finite gradients, at ‖x‖ = 0, cos θ = ±1 and large ‖x‖', () => {
    const weights = randomMatrix(D, C, seededRandom(7), 1);
    const columnOf = (j: number, scale: number) => weights.map((row) => row[j] * scale);
    const features = [
      new Array(D).fill(0), // ‖x‖ = 0
      columnOf(1, 3), // cos θ_y = 1 (label 1)
      columnOf(2, -3), // cos θ_y = −1 (label 2)
      columnOf(0, 2), // parallel to a non-target class (label 3)
      columnOf(4, 100), // ‖x‖ large, cos θ_y = 1 (label 4)
    ];
    const inputs = { ...batch(3, loss, features), weights: tf.tensor2d(weights) };
    const logits = loss.logits(inputs);
    const value = loss.loss(inputs);
    const [dx, dW] = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      loss.loss({ ...inputs, features: x as tf.Tensor2D, weights: w as tf.Tensor2D }),
    )([inputs.features, inputs.weights]);
    for (const t of [logits, value, dx, dW]) expect(allFinite(t)).toBe(true);
    tf.dispose([logits, value, dx, dW]);
    dispose(inputs);
  });

  it('gradients agree with central differences along random directions', () => {
    const inputs = batch(4, loss);
    const random = seededRandom(99);
    const [dx, dW] = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      loss.loss({ ...inputs, features: x as tf.Tensor2D, weights: w as tf.Tensor2D }),
    )([inputs.features, inputs.weights]);
    // Float32 central differences: roundoff ≈ 1e-7·|L|/h and truncation ≈ h²·|L'''|; h = 1e-2 balances them
    // for these input scales, giving errors around 1e-3 relative; 1e-2 leaves a margin for the s = 64 losses.
    const h = 1e-2;
    const lossAt = (x: tf.Tensor2D, w: tf.Tensor2D) =>
      tf.tidy(() => loss.loss({ ...inputs, features: x, weights: w }).dataSync()[0]);
    for (const [which, gradient] of [
      ['features', dx],
      ['weights', dW],
    ] as const) {
      for (let trial = 0; trial < 4; trial++) {
        const shape = gradient.shape as [number, number];
        const direction = tf.tensor2d(randomMatrix(shape[0], shape[1], random, 1));
        const shifted = (sign: number) => tf.add(which === 'features' ? inputs.features : inputs.weights, tf.mul(direction, sign * h)) as tf.Tensor2D;
        const [plus, minus] = [shifted(1), shifted(-1)];
        const numeric =
          which === 'features'
            ? (lossAt(plus, inputs.weights) - lossAt(minus, inputs.weights)) / (2 * h)
            : (lossAt(inputs.features, plus) - lossAt(inputs.features, minus)) / (2 * h);
        const analytic = tf.sum(tf.mul(gradient, direction)).dataSync()[0];
        expect(Math.abs(numeric - analytic)).toBeLessThanOrEqual(1e-2 * Math.max(1, Math.abs(analytic)));
        tf.dispose([direction, plus, minus]);
      }
    }
    tf.dispose([dx, dW]);
    dispose(inputs);
  });

  it('never raises the logit of a class by making it the target (the margin only penalises)', () => {
    const inputs = batch(5, loss);
    const asTarget = loss.logits(inputs).arraySync() as number[][];
    const otherLabels = tf.tensor1d(Array.from({ length: N }, (_, i) => (i + 1) % C), 'int32');
    const notTarget = loss.logits({ ...inputs, labels: otherLabels }).arraySync() as number[][];
    for (let i = 0; i < N; i++) {
      const y = i % C;
      expect(asTarget[i][y]).toBeLessThanOrEqual(notTarget[i][y] + 1e-6 * Math.max(1, Math.abs(notTarget[i][y])));
      // Non-target logits do not depend on which class is the target.
      for (let j = 0; j < C; j++) if (j !== y && j !== (i + 1) % C) expect(asTarget[i][j]).toBe(notTarget[i][j]);
    }
    otherLabels.dispose();
    dispose(inputs);
  });

  /** Logits before and after scaling the weight columns by 0.5, 2, 3, 7, 0.1. */
  function logitsWithScaledColumns(): [number[][], number[][]] {
    const inputs = batch(6, loss);
    const scaled = tf.tidy(() => tf.mul(inputs.weights, tf.tensor1d([0.5, 2, 3, 7, 0.1].slice(0, C))) as tf.Tensor2D);
    const [a, b] = [loss.logits(inputs), loss.logits({ ...inputs, weights: scaled })];
    const result: [number[][], number[][]] = [a.arraySync() as number[][], b.arraySync() as number[][]];
    tf.dispose([a, b, scaled]);
    dispose(inputs);
    return result;
  }

  it.skipIf(!loss.normalizesWeights)('ignores the scale of weight columns (it normalises them)', () => {
    const [a, b] = logitsWithScaledColumns();
    a.forEach((row, i) => row.forEach((v, j) => expect(b[i][j]).toBeCloseTo(v, 4)));
  });

  it.skipIf(loss.normalizesWeights)('depends on the scale of weight columns (it does not normalise them)', () => {
    const [a, b] = logitsWithScaledColumns();
    const changed = a.flatMap((row, i) => row.map((v, j) => Math.abs(b[i][j] - v) > 1e-3 * Math.max(1, Math.abs(v))));
    expect(changed.filter(Boolean).length).toBeGreaterThan(0);
  });

  it('reports λ (null or a finite number ≥ 0) and whether its stored weights need re-normalising, consistently', () => {
    const lambda = loss.lambdaAt(ITERATION);
    expect(lambda === null || (Number.isFinite(lambda) && lambda >= 0), `lambdaAt(${ITERATION}) = ${lambda}`).toBe(true);
    expect(() => loss.lambdaAt(-1)).toThrow(/iteration/);
    // Only weights the loss normalises can be re-normalised in place (MarginHead.renormalizeWeights refuses otherwise).
    expect(loss.renormalizeWeightsAfterUpdate && !loss.normalizesWeights).toBe(false);
  });

  it('depends on the iteration exactly when the λ it reports does', () => {
    const inputs = batch(8, loss);
    const early = loss.logits({ ...inputs, iteration: 1 });
    const late = loss.logits({ ...inputs, iteration: ITERATION });
    const a = early.dataSync();
    const b = late.dataSync();
    expect(a.every((v, i) => v === b[i])).toBe(loss.lambdaAt(1) === loss.lambdaAt(ITERATION));
    tf.dispose([early, late]);
    dispose(inputs);
  });

  it('rejects malformed inputs with a message naming the problem', () => {
    const inputs = batch(7, loss);
    expect(() => loss.logits({ ...inputs, labels: tf.tensor1d(new Array(N).fill(0), 'float32') })).toThrow(/int32/);
    expect(() => loss.logits({ ...inputs, labels: tf.tensor1d(new Array(N).fill(C), 'int32') })).toThrow(
      new RegExp(`label ${C} at row 0 is outside \\[0, ${C}\\)`),
    );
    expect(() => loss.logits({ ...inputs, weights: tf.zeros([D + 1, C]) as tf.Tensor2D })).toThrow(/feature dimension/);
    expect(() => loss.logits({ ...inputs, iteration: -1 })).toThrow(/iteration/);
    dispose(inputs);
  });
});
