import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { extractEmbeddings } from './embed';
import { TrainingHealthError } from './health';
import { marginHeadModel } from './margin-head';
import { Progress } from './progress';
import { attData, attTrainer, ATT_SIZE } from './testing/att-run';
import { readTrainLog } from './train-log';
import { latestCheckpoint } from './checkpoints';
import { Trainer, type IterationRecord } from './trainer';

const tmp = mkdtempSync(join(tmpdir(), 'sf-trainer-'));
const SIZE = ATT_SIZE;
const att = attData();

/** Runs testing/att-child.ts, optionally under a shell limit such as `ulimit -f 4` (a file-size limit: writes past it are cut short). */
function attChild(opts: Parameters<typeof attTrainer>[0], limit?: string): Promise<{ code: number | null; stderr: string }> {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'testing/att-child.ts'), JSON.stringify(opts)];
  const child = limit
    ? spawn('bash', ['-c', `${limit} && exec "$@"`, 'att-child', process.execPath, ...args], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, args, { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
}

function weightsOf(...models: tf.LayersModel[]): Float32Array[] {
  return models.flatMap((m) => m.getWeights().map((w) => w.dataSync() as Float32Array));
}

describe('Trainer', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('applies momentum and weight decay as Caffe does, with bias lr_mult 2 / decay_mult 0', async () => {
    const backbone = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 3] }), tf.layers.dense({ units: 4, name: 'fc', biasInitializer: 'ones' })] });
    const { model: headModel, head } = marginHeadModel({ numClasses: 3, loss: 'softmax', inputDim: 4, seed: 5 });
    const crops = Uint8Array.from([200, 0, 255, 255, 160, 64, 0, 255, 128]);
    const images = Float32Array.from(crops, (p) => (p - 127.5) / 128); // what the provider feeds: normalised
    const labels = Int32Array.from([0, 1, 2]);
    const provider = new CropBatchProvider(memoryCrops(crops, 1, 1), labels, 3, 1, { mirror: false });
    const [lr, mu, wd] = [0.05, 0.9, 0.01];
    const tensorsBefore = tf.memory().numTensors;
    const trainer = new Trainer(backbone, headModel, provider, { batchSize: 3, maxIter: 2, baseLr: lr, momentum: mu, weightDecay: wd, clipNorm: null, progress: 'none' });
    const vars = trainer.backbone.trainableWeights.concat(headModel.trainableWeights);
    const isBias = vars.map((v) => v.originalName.endsWith('/bias'));
    // Independent replay in float64: v ← μv + lr·lr_mult·(g + wd·decay_mult·w); w ← w − v.
    const gradsAt = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => head.loss({ features: backbone.apply(tf.tensor4d(images, [3, 1, 1, 3])) as tf.Tensor2D, labels: tf.tensor1d(labels, 'int32'), iteration: 1 }),
          vars.map((v) => v.read() as tf.Variable),
        );
        return vars.map((v) => Array.from(grads[(v.read() as tf.Variable).name].dataSync()));
      });
    let w = vars.map((v) => Array.from(v.read().dataSync()));
    let vel = w.map((a) => a.map(() => 0));
    for (let step = 0; step < 2; step++) {
      // Every sample once per batch (batch = dataset), so the order the provider shuffles in does not matter.
      const g = gradsAt();
      vel = vel.map((v, i) => v.map((vj, j) => mu * vj + lr * (isBias[i] ? 2 : 1) * (g[i][j] + wd * (isBias[i] ? 0 : 1) * w[i][j])));
      w = w.map((wi, i) => wi.map((x, j) => x - vel[i][j]));
      await trainer.step();
      vars.forEach((v, i) => Array.from(v.read().dataSync()).forEach((x, j) => expect(x).toBeCloseTo(w[i][j], 5)));
    }
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore); // optimizer state freed, nothing left behind by the steps
    backbone.dispose();
    headModel.dispose();
  });

  it("with A-Softmax's Caffe backward, re-normalises the stored class weights after each update (as the Caffe layer)", async () => {
    const backbone = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [1, 1, 3] }), tf.layers.dense({ units: 4 })] });
    const { model: headModel } = marginHeadModel({ numClasses: 3, loss: 'a-softmax', lossOptions: { gradient: 'caffe' }, inputDim: 4, seed: 5 });
    const provider = new CropBatchProvider(memoryCrops(Uint8Array.from([200, 0, 255, 255, 160, 64, 0, 255, 128]), 1, 1), Int32Array.from([0, 1, 2]), 3, 1, { mirror: false });
    const trainer = new Trainer(backbone, headModel, provider, { batchSize: 3, maxIter: 2, progress: 'none' });
    const columnNorms = () => Array.from(tf.tidy(() => tf.norm(headModel.getWeights()[0], 'euclidean', 0)).dataSync());
    expect(columnNorms().some((n) => Math.abs(n - 1) > 0.01)).toBe(true); // xavier init is not unit-norm
    await trainer.step();
    columnNorms().forEach((n) => expect(n).toBeCloseTo(1, 5));
    trainer.dispose();
    backbone.dispose();
    headModel.dispose();
  });

  it('trains SphereFace-4 (×0.25, 28×24) with A-Softmax on AT&T faces: loss falls, closed-set accuracy, no leaks, JSONL log', async () => {
    const logFile = join(tmp, 'att.jsonl');
    const run = attTrainer({ widthMultiplier: 0.25, seed: 11, iters: 120, logFile });
    const counts: number[] = [];
    const records = await run.trainer.run({ onIteration: () => counts.push(tf.memory().numTensors) });
    // After the first step (which builds lazily created state) the tensor count must not grow.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const mean = (rs: IterationRecord[]) => rs.reduce((a, r) => a + r.loss, 0) / rs.length;
    const first = mean(records.slice(0, 5)), last = mean(records.slice(-10));
    expect(first).toBeCloseTo(Math.log(40), 0); // starts at chance: ln(40) = 3.69
    expect(last).toBeLessThan(0.25 * first);
    // Closed set: the 3 held-out images of each of the 40 identities, nearest training image by cosine of the
    // flip-concatenated embedding. Measured 0.95 (0.975 when the trainer drew the mirror flips); chance is 0.025.
    const accuracy = tf.tidy(() => {
      const emb = (x: Float32Array) => {
        const e = extractEmbeddings(run.backbone, tf.tensor4d(x, [x.length / (SIZE[0] * SIZE[1] * 3), ...SIZE, 3]), 'concat');
        return tf.div(e, tf.norm(e, 'euclidean', 1, true));
      };
      const nn = tf.argMax(tf.matMul(emb(att.test.images), emb(att.train.images), false, true), 1).dataSync();
      return att.test.labels.reduce((c, l, i) => c + (att.train.labels[nn[i]] === l ? 1 : 0), 0) / att.test.labels.length;
    });
    console.info(`AT&T SphereFace-4 x0.25 28x24, 120 it: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, closed-set NN accuracy ${accuracy.toFixed(4)}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log).toHaveLength(120);
    expect(Object.keys(log[0]).sort()).toEqual(
      ['accuracy', 'clipped', 'gradNorm', 'imagesPerSec', 'iteration', 'lambda', 'loss', 'lr', 'meanFeatureNorm', 'meanTargetAngle', 'stepSeconds'].sort(),
    );
    expect(log[0].lambda).toBeCloseTo(1000 / (1 + 199 / 60), 6);
    expect(log[119]).toMatchObject({ lambda: 5, lr: expect.closeTo(0.01, 12) });
    run.dispose();
  }, 180_000);

  it('a run killed after a checkpoint resumes and ends bit-identical to an uninterrupted run', async () => {
    const common = { widthMultiplier: 0.125, iters: 6, batchSize: 8, lrSteps: [3] };
    const full = attTrainer({ ...common, seed: 21 });
    const fullRecords = await full.trainer.run();
    const dir = join(tmp, 'ckpt');
    const killed = attTrainer({ ...common, seed: 21, checkpointDir: dir, checkpointEvery: 2 });
    await expect(
      killed.trainer.run({ onIteration: (r) => { if (r.iteration === 5) throw new Error('killed'); } }),
    ).rejects.toThrow('killed');
    killed.dispose();
    // Complete checkpoints at 2 and 4 (keep 2), nothing half-written left behind, `latest` points at 4.
    expect(readdirSync(dir).sort()).toEqual(['ckpt-00000002', 'ckpt-00000004', 'latest.json']);
    // The run's randomness after initialisation (order, mirror draws) is the provider's state, nothing the trainer keeps.
    const state = JSON.parse(readFileSync(join(dir, 'ckpt-00000004', 'state.json'), 'utf8'));
    expect(state).not.toHaveProperty('rng');
    expect(state.data).toMatchObject({ epoch: 0, cursor: 32, rng: expect.any(Number), flipRng: expect.any(Number), windowRng: expect.any(Number) });
    // Different init seed: everything must come from the checkpoint.
    const resumed = attTrainer({ ...common, seed: 99, checkpointDir: dir, checkpointEvery: 2 });
    await resumed.trainer.restore(latestCheckpoint(dir)!);
    expect(resumed.trainer.iteration).toBe(4);
    const resumedRecords = await resumed.trainer.run();
    expect(resumedRecords.map((r) => r.loss)).toEqual(fullRecords.slice(4).map((r) => r.loss));
    const a = weightsOf(full.backbone, full.headModel), b = weightsOf(resumed.backbone, resumed.headModel);
    a.forEach((w, i) => expect(b[i]).toEqual(w));
    expect(existsSync(join(dir, 'ckpt-00000006', 'state.json'))).toBe(true);
    full.dispose();
    resumed.dispose();
  }, 120_000);

  it('a process killed with SIGKILL at an arbitrary moment resumes from its last complete checkpoint and matches an uninterrupted run', async () => {
    const dir = join(tmp, 'ckpt-kill');
    const common = { widthMultiplier: 0.125, iters: 400, batchSize: 8 };
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'testing/att-child.ts'), JSON.stringify({ ...common, seed: 41, checkpointDir: dir, checkpointEvery: 1 })], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    // Kill once a few checkpoints exist, with a random delay so the kill may land mid-write.
    const deadline = Date.now() + 90_000;
    while ((latestCheckpoint(dir) === null || JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')).iteration < 3) && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`child exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    child.kill('SIGKILL');
    await exited;
    const resumed = attTrainer({ ...common, seed: 77, checkpointDir: dir });
    await resumed.trainer.restore(latestCheckpoint(dir)!);
    const from = resumed.trainer.iteration;
    expect(from).toBeGreaterThanOrEqual(3);
    await resumed.trainer.run({ until: from + 2 });
    const full = attTrainer({ ...common, seed: 41 });
    await full.trainer.run({ until: from + 2 });
    const a = weightsOf(full.backbone, full.headModel), b = weightsOf(resumed.backbone, resumed.headModel);
    a.forEach((w, i) => expect(b[i]).toEqual(w));
    full.dispose();
    resumed.dispose();
  }, 150_000);

  it('a log line cut short (file-size limit, as on a full disk) names the log; the next trainer drops the torn line and logs whole lines', async () => {
    const logFile = join(tmp, 'torn', 'train.jsonl');
    // 4 KiB: the limit is reached in the middle of about the 15th line (no checkpoints, so nothing else is written).
    const child = await attChild({ widthMultiplier: 0.125, seed: 51, iters: 200, batchSize: 8, logFile }, 'ulimit -f 4');
    expect(child.code).not.toBe(0);
    expect(child.stderr).toContain(`training log ${logFile}`);
    expect(child.stderr).toContain('EFBIG');
    const text = readFileSync(logFile, 'utf8');
    expect(text.endsWith('\n')).toBe(false); // the write really was cut short
    const before = readTrainLog(logFile);
    expect(before.tornTail).not.toBeNull();
    const run = attTrainer({ widthMultiplier: 0.125, seed: 51, iters: 2, batchSize: 8, logFile });
    await run.trainer.run();
    run.dispose();
    const lines = readFileSync(logFile, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // every line whole
    expect(entries.find((e) => e.event === 'torn-line-dropped')).toMatchObject({ bytes: before.tornTail!.length });
    expect(readTrainLog(logFile).records).toHaveLength(before.records.length);
  }, 60_000);

  it.skipIf(!existsSync('/dev/full'))('a full disk while logging (ENOSPC) names the log file', async () => {
    const run = attTrainer({ widthMultiplier: 0.125, seed: 52, iters: 1, batchSize: 8, logFile: '/dev/full' });
    await expect(run.trainer.run()).rejects.toThrow(/training log \/dev\/full: ENOSPC/);
    run.dispose();
  });

  it('a checkpoint that cannot be written (file-size limit, as on a full disk) names the checkpoint and the folder it was written to', async () => {
    const dir = join(tmp, 'ckpt-efbig');
    // 64 KiB: the backbone's weights.bin (about 0.5 MB) is cut short.
    const child = await attChild({ widthMultiplier: 0.125, seed: 53, iters: 4, batchSize: 8, checkpointDir: dir, checkpointEvery: 2 }, 'ulimit -f 64');
    expect(child.code).not.toBe(0);
    expect(child.stderr).toMatch(new RegExp(`checkpoint ${dir}/ckpt-00000002 could not be written \\(${dir}/\\.tmp-ckpt-00000002-\\d+/backbone: EFBIG`));
    expect(latestCheckpoint(dir)).toBeNull();
  }, 60_000);

  it('stops a diverging run with a diagnosis instead of training on', async () => {
    const logFile = join(tmp, 'diverge.jsonl');
    const run = attTrainer({ widthMultiplier: 0.125, seed: 31, iters: 40, batchSize: 8, baseLr: 50, clipNorm: null, logFile });
    const err = await run.trainer.run().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingHealthError);
    const { kind, iteration } = err as TrainingHealthError;
    expect(['non-finite', 'underflow-87']).toContain(kind);
    expect((err as Error).message).toMatch(/diverged/);
    expect(run.trainer.iteration).toBe(iteration - 1); // the unhealthy step was not applied
    const last = JSON.parse(readFileSync(logFile, 'utf8').trim().split('\n').pop()!);
    expect(last).toMatchObject({ iteration, health: kind });
    run.dispose();
  }, 60_000);
});

describe('Progress', () => {
  const rec = { iteration: 50, loss: 1.23456, accuracy: 0.5, imagesPerSec: 12.3 };
  const sink = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, stream: { isTTY, write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream & { isTTY: boolean } };
  };
  it('draws a bar with ETA and images/s on a terminal', () => {
    const { out, stream } = sink(true);
    const p = new Progress(100, 0, 'auto', stream);
    p.update(rec);
    expect(out[0]).toMatch(/^\r\[#{12}\.{12}\] it 50\/100 loss 1\.2346 acc 50\.0% 12\.3 img\/s ETA \d\d:\d\d/);
  });
  it('prints plain lines every N iterations otherwise', () => {
    const { out, stream } = sink(false);
    const p = new Progress(100, 0, 'auto', stream, 25);
    p.update({ ...rec, iteration: 49 });
    p.update(rec);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^it 50\/100 loss 1\.2346 .*\n$/);
  });
});
