import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SphereConv2D, xavierInitializer } from './layers';
import { createModel, sphereface } from './sphereface';

// The xavier modes: Caffe's filler (uniform ±√(3/fan_in)) and Glorot's (uniform ±√(6/(fan_in + fan_out))), with
// fan_in = k·k·c_in and fan_out = k·k·c_out for a conv (Caffe: count / num_output; PyTorch: the same), in/out units
// for a dense layer.
//
// Statistical checks, for n draws from U(−L, L):
//  - bounds: every |w| ≤ L, and max |w| > 0.99·L; the second fails by chance with probability 0.99ⁿ, < 3e-8 for the
//    smallest layer checked here (n = 1,728), so it pins L to within 1 % from below.
//  - variance: E[w²] = L²/3 and Var[w²] = E[w⁴] − E[w²]² = L⁴/5 − L⁴/9 = 4L⁴/45, so the sample mean of w² has
//    standard deviation √(4/45)·L²/√n; the tolerance is 5 of those (two-sided chance of a false failure < 1e-6),
//    between 10.7 % (n = 1,728) and 0.7 % (n = 3.1 M) of L²/3. The sample variance about the sample mean differs
//    from the mean of w² by mean², of order L²/(3n): negligible.
// For N(0, σ²) (the residual convs): the sample variance has standard deviation √(2/n)·σ², tolerance 5 of those; the
// mean has standard deviation σ/√n, tolerance 5 of those.

const STAGES = [64, 128, 256, 512];
const INPUT: [number, number] = [56, 48]; // the cpu and cpu-full crops
const UNITS10 = [0, 1, 2, 0]; // SphereFace-10: residual units per stage

function stats(t: tf.Tensor): { n: number; maxAbs: number; mean: number; variance: number } {
  const v = Float64Array.from(t.dataSync());
  const n = v.length;
  const mean = v.reduce((a, x) => a + x, 0) / n;
  const variance = v.reduce((a, x) => a + (x - mean) ** 2, 0) / n;
  const maxAbs = v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
  return { n, maxAbs, mean, variance };
}

function expectUniform(t: tf.Tensor, limit: number, what: string): void {
  const s = stats(t);
  expect(s.maxAbs, `${what}: max |w| ≤ ${limit}`).toBeLessThanOrEqual(limit);
  expect(s.maxAbs, `${what}: max |w| close to ${limit}`).toBeGreaterThan(0.99 * limit);
  const tol = (5 * Math.sqrt(4 / 45) * limit ** 2) / Math.sqrt(s.n);
  expect(Math.abs(s.variance - limit ** 2 / 3), `${what}: variance ${s.variance} vs L²/3 = ${limit ** 2 / 3} ± ${tol}`).toBeLessThan(tol);
}

function expectGaussian(t: tf.Tensor, std: number, what: string): void {
  const s = stats(t);
  expect(Math.abs(s.mean), `${what}: mean`).toBeLessThan((5 * std) / Math.sqrt(s.n));
  expect(Math.abs(s.variance - std ** 2), `${what}: variance ${s.variance} vs ${std ** 2}`).toBeLessThan(5 * Math.sqrt(2 / s.n) * std ** 2);
}

/** The xavier layers of SphereFace at `INPUT`, full width, with their fans worked out from Table 2 (not read from the model). */
function xavierLayers(): Array<{ name: string; fanIn: number; fanOut: number }> {
  const layers = STAGES.map((c, s) => ({ name: `conv${s + 1}_1/kernel`, fanIn: 9 * (s === 0 ? 3 : STAGES[s - 1]), fanOut: 9 * c }));
  const down = (d: number) => Math.floor((d - 1) / 2) + 1; // 3×3, stride 2, pad 1
  const [h, w] = INPUT.map((d) => down(down(down(down(d)))));
  expect([h, w]).toEqual([4, 3]);
  return [...layers, { name: 'fc5/kernel', fanIn: h * w * 512, fanOut: 512 }];
}

/** Bit-for-bit equality of two tensors' values (toEqual on millions of elements takes seconds). */
function sameBits(a: tf.Tensor, b: tf.Tensor): boolean {
  const [x, y] = [a.dataSync(), b.dataSync()];
  return x.length === y.length && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

const residualConvs = UNITS10.flatMap((u, s) => Array.from({ length: 2 * u }, (_, k) => `conv${s + 1}_${2 + k}/kernel`));

describe('xavier initialisation: fan-in (Caffe) and fan-avg (Glorot)', () => {
  const models: Partial<Record<'fan-in' | 'fan-avg' | 'default', tf.LayersModel>> = {};
  const weight = (mode: keyof typeof models, name: string) => {
    const w = models[mode]!.weights.find((v) => v.originalName === name);
    if (!w) throw new Error(`no weight ${name}`);
    return w.read();
  };

  beforeAll(async () => {
    await tf.setBackend('cpu');
    // SphereFace-10 at full width: stage convs, residual convs (stages 2 and 3) and fc5 (6,144 → 512), as in cpu-full.
    models['fan-in'] = createModel('sphereface10', { inputSize: INPUT, seed: 5, xavier: 'fan-in' });
    models['fan-avg'] = createModel('sphereface10', { inputSize: INPUT, seed: 5, xavier: 'fan-avg' });
    models.default = createModel('sphereface10', { inputSize: INPUT, seed: 5 });
    return () => Object.values(models).forEach((m) => m.dispose());
  });

  it('the residual convs are the ones this test expects', () => {
    expect(residualConvs).toEqual(['conv2_2/kernel', 'conv2_3/kernel', 'conv3_2/kernel', 'conv3_3/kernel', 'conv3_4/kernel', 'conv3_5/kernel']);
  });

  for (const mode of ['fan-in', 'fan-avg'] as const) {
    it(`${mode}: stage convs and fc5 are uniform within ±${mode === 'fan-in' ? '√(3/fan_in)' : '√(6/(fan_in + fan_out))'}, variance limit²/3`, () => {
      for (const { name, fanIn, fanOut } of xavierLayers()) {
        const limit = mode === 'fan-in' ? Math.sqrt(3 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
        expectUniform(weight(mode, name), limit, `${mode} ${name} (fan_in ${fanIn}, fan_out ${fanOut})`);
        // Discriminating: the other mode's limit² differs from this one's by more than the tolerance.
        const other = mode === 'fan-in' ? 6 / (fanIn + fanOut) : 3 / fanIn;
        const s = stats(weight(mode, name));
        expect(Math.abs(s.variance - other / 3), `${mode} ${name} is not the other mode`).toBeGreaterThan((5 * Math.sqrt(4 / 45) * other) / Math.sqrt(s.n));
      }
    });
  }

  it("the default is Caffe's fan-in: bit-identical to xavier 'fan-in' with the same seed", () => {
    const a = models.default!.getWeights(), b = models['fan-in']!.getWeights();
    expect(a.map((t) => t.shape)).toEqual(b.map((t) => t.shape));
    a.forEach((t, i) => expect(sameBits(t, b[i]), models.default!.weights[i].originalName).toBe(true));
  });

  it('the residual convs stay N(0, 0.01²) in both modes (the same draws: same seeds), their biases 0', () => {
    for (const name of residualConvs) {
      expectGaussian(weight('fan-avg', name), 0.01, `fan-avg ${name}`);
      expectGaussian(weight('fan-in', name), 0.01, `fan-in ${name}`);
      expect(sameBits(weight('fan-avg', name), weight('fan-in', name)), name).toBe(true);
      expect(tf.tidy(() => tf.max(tf.abs(weight('fan-avg', name.replace('/kernel', '/bias')))).dataSync()[0])).toBe(0);
    }
  });

  it('xavierInitializer alone: conv [3, 3, 64, 128] and dense [6144, 512] kernels', () => {
    for (const shape of [[3, 3, 64, 128], [6144, 512]]) {
      const fanIn = shape.length === 4 ? 9 * shape[2] : shape[0];
      const fanOut = shape.length === 4 ? 9 * shape[3] : shape[1];
      const a = xavierInitializer('fan-in', 11).apply(shape);
      const b = xavierInitializer('fan-avg', 11).apply(shape);
      expectUniform(a, Math.sqrt(3 / fanIn), `fan-in ${shape}`);
      expectUniform(b, Math.sqrt(6 / (fanIn + fanOut)), `fan-avg ${shape}`);
      // Seeded: the same seed gives the same draw.
      const again = xavierInitializer('fan-avg', 11).apply(shape);
      expect(sameBits(again, b)).toBe(true);
      tf.dispose([a, b, again]);
    }
  });

  it('an invalid xavier mode is refused, naming the choices and the value', () => {
    expect(() => sphereface(4, { inputSize: [28, 24], xavier: 'fan-out' as never })).toThrow("sphereface: xavier must be 'fan-in' or 'fan-avg', got fan-out");
    expect(() => createModel('sphereface4', { inputSize: [28, 24], xavier: 'glorot' as never })).toThrow(/xavier must be 'fan-in' or 'fan-avg', got glorot/);
  });
});

describe("SphereConv2D with init 'xavier-fan-avg': serialisation", () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // A functional model, as sphereface() builds (an input layer first): SphereConv2D does not pass batchInputShape
  // through fromConfig, so it cannot be the first layer of a tf.sequential that is loaded back.
  const build = () => {
    const input = tf.input({ shape: [7, 5, 4] });
    const conv = new SphereConv2D({ name: 'c', filters: 6, strides: 2, init: 'xavier-fan-avg', biasTrainable: true, seed: 13 });
    return tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
  };

  it('saves and loads back (weights and config), and a model rebuilt from its JSON alone draws the same fan-avg kernel', async () => {
    const model = build();
    const kernel = model.getWeights()[0];
    expectUniform(kernel, Math.sqrt(6 / (9 * 4 + 9 * 6)), 'SphereConv2D xavier-fan-avg kernel');
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const topology = JSON.stringify(saved!.modelTopology);
    expect(topology).toContain('"init":"xavier-fan-avg"');

    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const layer = loaded.getLayer('c') as SphereConv2D;
    expect(layer).toBeInstanceOf(SphereConv2D);
    expect([layer.init, layer.filters, layer.strides, layer.biasTrainable, layer.seed]).toEqual(['xavier-fan-avg', 6, 2, true, 13]);
    loaded.getWeights().forEach((w, i) => expect(w.dataSync()).toEqual(model.getWeights()[i].dataSync()));
    const x = tf.randomNormal([2, 7, 5, 4], 0, 1, 'float32', 3);
    expect((loaded.predict(x) as tf.Tensor).dataSync()).toEqual((model.predict(x) as tf.Tensor).dataSync());

    // Without the weights: the layer is initialised from its config, so the init and seed must have survived.
    const rebuilt = await tf.models.modelFromJSON({ modelTopology: saved!.modelTopology as tf.io.ModelJSON['modelTopology'] });
    expect((rebuilt.getLayer('c') as SphereConv2D).init).toBe('xavier-fan-avg');
    expect(rebuilt.getWeights()[0].dataSync()).toEqual(kernel.dataSync());
    tf.dispose(x);
    [model, loaded, rebuilt].forEach((m) => m.dispose());
  });
});
