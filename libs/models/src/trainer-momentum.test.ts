import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marginHeadModel } from './margin-head';
import { Trainer, type TrainerConfig } from './trainer';

// Trainer momentumStyle ('caffe' | 'pytorch') against independent float64 replays of Caffe's SGD and torch.optim.SGD,
// on a linear model: x [3] → dense fc (4 units, bias) → softmax head fc6 (3 classes, bias). Every batch is the whole
// 4-image dataset in a fixed order, from a provider written here (no shuffling, no augmentation). The images are
// 1×1 pixel, so a horizontal flip, if a trainer or provider applied one, would change nothing.

const tmp = mkdtempSync(join(tmpdir(), 'sf-momentum-'));

const IN = 3, HIDDEN = 4, CLASSES = 3, N = 4;
const IMAGES = Float32Array.from([0.5, -1, 2, 1, 0.25, -0.5, -2, 1, 0, 0.3, 0.8, -1.2]);
const LABELS = Int32Array.from([0, 1, 2, 1]);
/** lr 0.1 for iterations 0–2, 0.01 from iteration 3 on (Caffe multistep: iter ≥ 3). */
const SCHEDULE = { baseLr: 0.1, lrSteps: [3], lrGamma: 0.1, momentum: 0.9, weightDecay: 5e-3 };
const ITERS = 6;
/**
 * float32 tolerance: the trainer's gradients and updates are float32 (relative rounding ~6e-8 per operation) on
 * weights of magnitude ≲ 1, over 6 iterations; measured max |trainer − reference| is about 1e-7. 2e-6 leaves room
 * while staying far below the Caffe/PyTorch difference after the step (asserted > 1e-3 below).
 */
const TOL = 2e-6;

/** A batch provider serving the whole dataset, in order, every time; its state (checkpointed) is the number of batches served. */
function wholeDataset() {
  let served = 0;
  return {
    numClasses: CLASSES,
    next(batchSize: number) {
      if (batchSize !== N) throw new Error(`wholeDataset: batch size ${batchSize}, expected ${N}`);
      served++;
      return { images: tf.tensor4d(IMAGES, [N, 1, 1, IN]), labels: tf.tensor1d(LABELS, 'int32') };
    },
    getState: () => ({ served }),
    setState(state: unknown) {
      const s = state as { served?: unknown };
      if (typeof s?.served !== 'number') throw new Error('wholeDataset: not a state of this provider');
      served = s.served;
    },
  };
}

function tiny(seed: number, config: Partial<TrainerConfig> = {}) {
  const backbone = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [1, 1, IN] }),
      tf.layers.dense({
        units: HIDDEN,
        name: 'fc',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 1 }),
      }),
    ],
  });
  const { model: headModel } = marginHeadModel({ numClasses: CLASSES, loss: 'softmax', inputDim: HIDDEN, seed: seed + 2 });
  const trainer = new Trainer(backbone, headModel, wholeDataset(), { batchSize: N, maxIter: ITERS, ...SCHEDULE, clipNorm: null, progress: 'none', ...config });
  /** fc/kernel, fc/bias, fc6/kernel, fc6/bias, as float32 values. */
  const weights = () => [...backbone.getWeights(), ...headModel.getWeights()].map((w) => Float32Array.from(w.dataSync()));
  return {
    trainer,
    backbone,
    headModel,
    weights,
    dispose: () => {
      trainer.dispose();
      backbone.dispose();
      headModel.dispose();
    },
  };
}

type Params = { A: number[]; c: number[]; W: number[]; b: number[] };

/** Mean softmax cross-entropy of (x·A + c)·W + b and its gradients, in float64 (A is [IN, HIDDEN], W [HIDDEN, CLASSES], row-major). */
function gradients({ A, c, W, b }: Params): Params {
  const g: Params = { A: A.map(() => 0), c: c.map(() => 0), W: W.map(() => 0), b: b.map(() => 0) };
  for (let n = 0; n < N; n++) {
    const x = Array.from(IMAGES.subarray(n * IN, (n + 1) * IN), Number);
    const h = c.map((cj, j) => cj + x.reduce((s, xi, i) => s + xi * A[i * HIDDEN + j], 0));
    const z = b.map((bk, k) => bk + h.reduce((s, hj, j) => s + hj * W[j * CLASSES + k], 0));
    const max = Math.max(...z);
    const e = z.map((zk) => Math.exp(zk - max));
    const sum = e.reduce((s, v) => s + v, 0);
    const dz = e.map((ek, k) => (ek / sum - (k === LABELS[n] ? 1 : 0)) / N);
    const dh = h.map((_, j) => dz.reduce((s, d, k) => s + d * W[j * CLASSES + k], 0));
    dz.forEach((d, k) => {
      g.b[k] += d;
      h.forEach((hj, j) => (g.W[j * CLASSES + k] += hj * d));
    });
    dh.forEach((d, j) => {
      g.c[j] += d;
      x.forEach((xi, i) => (g.A[i * HIDDEN + j] += xi * d));
    });
  }
  return g;
}

const NAMES = ['A', 'c', 'W', 'b'] as const;
/** The prototxts' lr_mult / decay_mult: 1/1 for weights, 2/0 for biases (the trainer's defaults). */
const LR_MULT = { A: 1, c: 2, W: 1, b: 2 };
const DECAY_MULT = { A: 1, c: 0, W: 1, b: 0 };
const lrAt = (iter: number) => SCHEDULE.baseLr * SCHEDULE.lrGamma ** SCHEDULE.lrSteps.filter((s) => iter >= s).length;

/**
 * float64 replay from the initial weights; returns the weights after each iteration (index i: after i + 1 iterations).
 * caffe:   v ← μv + lr·lr_mult·(g + wd·decay_mult·w); w ← w − v                (Caffe SGDSolver::ComputeUpdateValue)
 * pytorch: v ← μv + (g + wd·decay_mult·w);            w ← w − lr·lr_mult·v     (torch.optim.SGD, dampening 0, no
 *          Nesterov; lr_mult and decay_mult as per-group lr and weight_decay; the first step's buffer is the gradient,
 *          which is μ·0 + g)
 */
function replay(initial: Float32Array[], style: 'caffe' | 'pytorch', iters = ITERS): number[][][] {
  const w: Params = { A: Array.from(initial[0]), c: Array.from(initial[1]), W: Array.from(initial[2]), b: Array.from(initial[3]) };
  const v: Params = { A: w.A.map(() => 0), c: w.c.map(() => 0), W: w.W.map(() => 0), b: w.b.map(() => 0) };
  const { momentum: mu, weightDecay: wd } = SCHEDULE;
  const after: number[][][] = [];
  for (let iter = 0; iter < iters; iter++) {
    const lr = lrAt(iter);
    const g = gradients(w);
    for (const p of NAMES) {
      const d = g[p].map((gj, j) => gj + wd * DECAY_MULT[p] * w[p][j]);
      if (style === 'caffe') {
        v[p] = v[p].map((vj, j) => mu * vj + lr * LR_MULT[p] * d[j]);
        w[p] = w[p].map((wj, j) => wj - v[p][j]);
      } else {
        v[p] = v[p].map((vj, j) => mu * vj + d[j]);
        w[p] = w[p].map((wj, j) => wj - lr * LR_MULT[p] * v[p][j]);
      }
    }
    after.push(NAMES.map((p) => [...w[p]]));
  }
  return after;
}

const maxAbsDiff = (a: ArrayLike<number>[], b: ArrayLike<number>[]) =>
  Math.max(...a.map((x, i) => Math.max(...Array.from(x, (xj, j) => Math.abs(xj - b[i][j])))));

async function trajectory(style: 'caffe' | 'pytorch', seed = 3) {
  const run = tiny(seed, { momentumStyle: style });
  const initial = run.weights();
  const after: Float32Array[][] = [];
  const lrs: number[] = [];
  for (let i = 0; i < ITERS; i++) {
    lrs.push((await run.trainer.step()).lr);
    after.push(run.weights());
  }
  run.dispose();
  return { initial, after, lrs };
}

describe('Trainer momentumStyle', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the trainer maps fc/fc6 as the replay assumes: kernels lr_mult 1 / decay_mult 1, biases 2 / 0', async () => {
    // The replay hard-codes the parameter order and the multipliers; the first iteration (zero velocity, so both styles
    // move each parameter by lr·lr_mult·(g + wd·decay_mult·w)) checks them before any momentum is involved.
    const { initial, after } = await trajectory('caffe');
    expect(initial.map((w) => w.length)).toEqual([IN * HIDDEN, HIDDEN, HIDDEN * CLASSES, CLASSES]);
    expect(maxAbsDiff(after[0], replay(initial, 'caffe', 1)[0])).toBeLessThan(TOL);
  });

  it("'caffe' matches Caffe's SGD and 'pytorch' matches torch.optim.SGD across a learning-rate step (float64 replays)", async () => {
    const caffe = await trajectory('caffe');
    const pytorch = await trajectory('pytorch');
    expect(caffe.lrs.map((lr) => +lr.toPrecision(6))).toEqual([0.1, 0.1, 0.1, 0.01, 0.01, 0.01]);
    expect(pytorch.initial).toEqual(caffe.initial); // same seed, same starting point
    const refCaffe = replay(caffe.initial, 'caffe');
    const refTorch = replay(caffe.initial, 'pytorch');
    for (let i = 0; i < ITERS; i++) {
      expect(maxAbsDiff(caffe.after[i], refCaffe[i]), `caffe after ${i + 1} iterations`).toBeLessThan(TOL);
      expect(maxAbsDiff(pytorch.after[i], refTorch[i]), `pytorch after ${i + 1} iterations`).toBeLessThan(TOL);
    }
    // The replays themselves: identical while lr is constant, then apart by far more than the tolerance. So each
    // trainer style matches its own optimizer and not the other one.
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(refCaffe[i], refTorch[i])).toBeLessThan(1e-12);
    for (let i = 3; i < ITERS; i++) {
      expect(maxAbsDiff(refCaffe[i], refTorch[i]), `replays after ${i + 1} iterations`).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(pytorch.after[i], refCaffe[i])).toBeGreaterThan(100 * TOL);
      expect(maxAbsDiff(caffe.after[i], refTorch[i])).toBeGreaterThan(100 * TOL);
    }
  });

  it('the two styles are bit-identical before the step and differ from the first iteration at the new rate on', async () => {
    const caffe = await trajectory('caffe');
    const pytorch = await trajectory('pytorch');
    for (let i = 0; i < 3; i++) expect(pytorch.after[i], `after ${i + 1} iterations`).toEqual(caffe.after[i]);
    for (let i = 3; i < ITERS; i++) expect(maxAbsDiff(pytorch.after[i], caffe.after[i]), `after ${i + 1} iterations`).toBeGreaterThan(1e-3);
    // Without a step, the styles are the same optimizer: bit-identical throughout.
    const flat = async (style: 'caffe' | 'pytorch') => {
      const run = tiny(3, { momentumStyle: style, lrSteps: [] });
      for (let i = 0; i < ITERS; i++) await run.trainer.step();
      const w = run.weights();
      run.dispose();
      return w;
    };
    expect(await flat('pytorch')).toEqual(await flat('caffe'));
  });

  it("'caffe' is the default", async () => {
    const caffe = await trajectory('caffe');
    const run = tiny(3);
    expect(run.trainer.config.momentumStyle).toBe('caffe');
    for (let i = 0; i < ITERS; i++) await run.trainer.step();
    expect(run.weights()).toEqual(caffe.after[ITERS - 1]);
    run.dispose();
  });

  it('an invalid momentumStyle is refused with the valid choices and the value given', () => {
    for (const bad of ['nesterov', 'PyTorch', '']) {
      expect(() => tiny(3, { momentumStyle: bad as never })).toThrow(`Trainer: momentumStyle must be 'caffe' or 'pytorch', got ${bad}`);
    }
    expect(() => tiny(3, { momentumStyle: null as never })).toThrow(/momentumStyle must be 'caffe' or 'pytorch', got null/);
  });

  // A checkpoint at the step (iteration 3: the next iteration is the first at the new rate, so the resumed trainer
  // must rescale the velocity itself) and one after it (4: the restored velocity is already rescaled, and must not
  // be rescaled again).
  for (const at of [3, 4]) {
    it(`'pytorch': resuming from the checkpoint at iteration ${at} (lr step at 3) ends bit-identical to an uninterrupted run`, async () => {
      const full = tiny(3, { momentumStyle: 'pytorch' });
      await full.trainer.run();
      const expected = full.weights();
      full.dispose();

      const dir = join(tmp, `resume-${at}`);
      const first = tiny(3, { momentumStyle: 'pytorch', checkpointDir: dir, checkpointEvery: at });
      await first.trainer.run({ until: at });
      first.dispose();
      // Another init seed: the weights and velocities the rest of the run depends on must come from the checkpoint.
      const resumed = tiny(8, { momentumStyle: 'pytorch', checkpointDir: dir, checkpointEvery: at });
      const { restored } = await resumed.trainer.restoreNewest();
      expect(restored).toBe(join(dir, `ckpt-${String(at).padStart(8, '0')}`));
      expect(resumed.trainer.iteration).toBe(at);
      const records = await resumed.trainer.run();
      expect(records.map((r) => r.iteration)).toEqual(Array.from({ length: ITERS - at }, (_, i) => at + i + 1));
      expect(resumed.weights()).toEqual(expected);
      resumed.dispose();
    });
  }
});
