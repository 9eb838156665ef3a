import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { createModel, listModels, SPHEREFACE_UNITS, STAGE_CHANNELS } from './sphereface';

/** Independent count from Table 2: convs (3×3 weights + bias, fixed or learned) + channel-wise PReLU + FC. */
function expectedParams(units: readonly number[], [h, w]: [number, number], m = 1): number {
  let cin = 3, total = 0, hh = h, ww = w;
  STAGE_CHANNELS.forEach((c0, s) => {
    const c = Math.max(1, Math.round(c0 * m));
    total += 9 * cin * c + c + c + units[s] * 2 * (9 * c * c + c + c);
    cin = c;
    hh = Math.floor((hh - 1) / 2) + 1;
    ww = Math.floor((ww - 1) / 2) + 1;
  });
  return total + hh * ww * cin * 512 + 512;
}

describe('SphereFace model registry', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });

  it('lists the five depths of Table 2', () => {
    expect(listModels()).toEqual(['sphereface4', 'sphereface10', 'sphereface20', 'sphereface36', 'sphereface64']);
    expect(() => createModel('sphereface21')).toThrow(/unknown model 'sphereface21'/);
  });

  it('SphereFace-20 without the classifier has exactly 22,670,656 parameters', () => {
    const model = createModel('sphereface20');
    expect(model.countParams()).toBe(22_670_656);
    model.dispose();
  }, 30_000);

  for (const name of listModels()) {
    const depth = Number(name.replace('sphereface', ''));
    const units = SPHEREFACE_UNITS[depth];
    for (const inputSize of [[112, 96], [56, 48]] as [number, number][]) {
      it(`${name} ${inputSize.join('x')}: parameter count, layer structure and output shape`, () => {
        const model = createModel(name, { inputSize });
        expect(model.countParams()).toBe(expectedParams(units, inputSize));
        const convs = model.layers.filter((l) => l.getClassName() === 'SphereConv2D');
        expect(convs).toHaveLength(depth); // the depth counts convolutions: 4 + 2·Σunits
        expect(model.layers.filter((l) => l.getClassName() === 'PReLU')).toHaveLength(convs.length);
        expect(model.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(0);
        // Fixed (Caffe lr_mult 0) biases: one per residual conv, and nothing else is frozen.
        expect(model.nonTrainableWeights).toHaveLength(2 * units.reduce((a, b) => a + b, 0));
        expect(model.nonTrainableWeights.every((w) => w.originalName.endsWith('/bias'))).toBe(true);
        const out = model.predict(tf.zeros([1, ...inputSize, 3])) as tf.Tensor;
        expect(out.shape).toEqual([1, 512]);
        tf.dispose(out);
        model.dispose();
      }, 60_000);
    }
  }

  it('width multiplier and seed: channels scale, same seed gives the same weights', () => {
    const a = createModel('sphereface4', { inputSize: [56, 48], widthMultiplier: 0.25, seed: 7 });
    const b = createModel('sphereface4', { inputSize: [56, 48], widthMultiplier: 0.25, seed: 7 });
    expect(a.countParams()).toBe(expectedParams([0, 0, 0, 0], [56, 48], 0.25));
    const wa = a.getWeights(), wb = b.getWeights();
    expect(wa.map((t) => t.shape)).toEqual(wb.map((t) => t.shape));
    wa.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(wb[i].dataSync())));
    a.dispose();
    b.dispose();
  });

  it('initialisers follow the prototxts: xavier stride-2 convs, gaussian(0.01) residual convs, zero biases, PReLU 0.25', () => {
    const model = createModel('sphereface20', { inputSize: [56, 48], seed: 3 });
    const byName = new Map(model.weights.map((w) => [w.originalName, w.read()]));
    const std = (t: tf.Tensor) => tf.tidy(() => tf.moments(t).variance.sqrt().dataSync()[0]);
    const limit = Math.sqrt(3 / (9 * 64)); // xavier (Caffe: uniform ±√(3/fan_in)), conv2_1 has fan_in 9·64
    const w21 = byName.get('conv2_1/kernel')!;
    expect(tf.max(tf.abs(w21)).dataSync()[0]).toBeLessThanOrEqual(limit);
    expect(std(w21)).toBeCloseTo(limit / Math.sqrt(3), 3);
    expect(std(byName.get('conv3_4/kernel')!)).toBeCloseTo(0.01, 3);
    for (const [n, t] of byName) {
      if (n.endsWith('/bias')) expect(tf.max(tf.abs(t)).dataSync()[0]).toBe(0);
      if (n.endsWith('_prelu/alpha')) expect(Array.from(new Set(t.dataSync()))).toEqual([0.25]);
    }
    model.dispose();
  }, 30_000);
});

describe.each(listModels())('conformance: %s', (name) => {
  it('every trainable parameter receives a non-zero gradient; fixed biases are not trained', async () => {
    await selectBackend({ force: 'wasm', log: null });
    const model = createModel(name, { inputSize: [56, 48], widthMultiplier: 0.125, seed: 1 });
    const before = tf.memory().numTensors;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads, value } = tf.tidy(() => {
      const x = tf.randomNormal([2, 56, 48, 3], 0, 1, 'float32', 5);
      const r = tf.randomNormal([2, 512], 0, 1, 'float32', 6);
      return tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar, vars);
    });
    expect(Object.keys(grads)).toHaveLength(vars.length);
    for (const v of vars) {
      const g = grads[v.name];
      expect(g.shape).toEqual(v.shape);
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]), v.name).toBeGreaterThan(0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  }, 60_000);
});
