import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mulberry32, sha256Hex } from '@sphereface/common';
import { INSIGHTFACE_THRESHOLDS, kFoldBounds } from '@sphereface/eval';
import { createModel, fileSystemHandler, selectBackend } from '@sphereface/models';
import {
  benchmarkCropProblem,
  benchmarkFeatures,
  boxLandmarks,
  benchmarkFile,
  evaluateBenchmark,
  evaluatePublishedModel,
  evaluateRun,
  evaluationRecordPath,
  loadPublishedModel,
  prepareVerificationBin,
  RUN_LOCK_FILE,
  type BinFile,
} from './benchmark-eval';
import { main } from './cli';
import { repositoryRoot } from './paths';
import { listRecordIds, readRecord, recordPath } from './record';
import { formatShow } from './report';
import { runExperiment } from './runner';
import { captureConsole } from './testing/console';
import { LOCK_FILE } from './training';

// Generated data only: a small insightface-style .bin (written by the data library's Python 2 pickle fixture writer),
// a LayersModel and a GraphModel whose features are computed here independently, and a smoke run.

const root = repositoryRoot();
const scratch = mkdtempSync(join(tmpdir(), 'sphereface-eval-test-'));
const cache = join(scratch, 'cache');

interface JpegJs {
  encode(image: { width: number; height: number; data: Uint8Array }, quality: number): { data: Uint8Array };
  decode(bytes: Uint8Array, opts: { useTArray: true; formatAsRGBA: false }): { width: number; height: number; data: Uint8Array };
}
// The data library's JPEG codec (its dependency, not this package's).
const jpeg = createRequire(join(root, 'libs', 'data', 'package.json'))('jpeg-js') as JpegJs;

const PAIRS = 40;
const IDENTITIES = 8;

/**
 * 40 pairs of 112×112 JPEGs: identity k is an 8×8 grid of 14-px blocks of its own random colours; each image adds
 * its own brightness shift and pixel noise. Even pairs are one identity, odd pairs two.
 */
function syntheticBin(): { images: Uint8Array[]; same: boolean[] } {
  const rng = mulberry32(7);
  const palettes = Array.from({ length: IDENTITIES }, () => Array.from({ length: 64 * 3 }, () => 40 + 170 * rng()));
  const face = (k: number): Uint8Array => {
    const shift = 20 * (rng() - 0.5);
    const data = new Uint8Array(112 * 112 * 4);
    for (let y = 0; y < 112; y++) {
      for (let x = 0; x < 112; x++) {
        const block = ((y / 14) | 0) * 8 + ((x / 14) | 0);
        for (let c = 0; c < 3; c++) data[(y * 112 + x) * 4 + c] = Math.max(0, Math.min(255, palettes[k][block * 3 + c] + shift + 16 * (rng() - 0.5)));
        data[(y * 112 + x) * 4 + 3] = 255;
      }
    }
    return jpeg.encode({ width: 112, height: 112, data }, 92).data;
  };
  const images: Uint8Array[] = [];
  const same: boolean[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = i % IDENTITIES;
    const isSame = i % 2 === 0;
    images.push(face(a), face(isSame ? a : (a + 3) % IDENTITIES));
    same.push(isSame);
  }
  return { images, same };
}

let binPath = '';
let ytfRootPath = '';
let ytfDir = '';
let images: Uint8Array[] = [];
let same: boolean[] = [];
const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS };

beforeAll(async () => {
  process.env.SPHEREFACE_RECORDS = join(scratch, 'records');
  process.env.SPHEREFACE_ARTIFACTS = join(scratch, 'artifacts');
  await selectBackend({ log: null }); // as the commands do
  ({ images, same } = syntheticBin());
  // A test helper of @sphereface/data, outside this package's sources: loaded by path.
  const fixtures = (await import(join(root, 'libs', 'data', 'src', 'test-pickle.ts'))) as {
    python2VerificationPickle(images: readonly Uint8Array[], same: readonly boolean[]): Uint8Array;
  };
  mkdirSync(join(scratch, 'bins'));
  binPath = join(scratch, 'bins', 'synth.bin');
  writeFileSync(binPath, fixtures.python2VerificationPickle(images, same));
  // A tiny YouTube Faces tree (the data library's fixture: 24×28 frames, 20 pairs in 10 splits).
  const ytf = (await import(join(root, 'libs', 'data', 'src', 'sources', 'ytf-fixtures.ts'))) as { ytfFixture(): { dir: string; root: string } };
  ({ dir: ytfDir, root: ytfRootPath } = ytf.ytfFixture());
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  if (ytfDir) rmSync(ytfDir, { recursive: true, force: true });
  for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});
afterEach(() => vi.restoreAllMocks());

/** Image i decoded (jpeg-js, the crop store's default decoder), cut as the evaluation says, pooled per block. */
function independentFeatures(crop: 'centre-112x96' | 'whole', pool: number, pixel: (p: number) => number) {
  const cols = crop === 'whole' ? [0, 112] : [8, 104];
  const w = cols[1] - cols[0];
  const poolW = crop === 'whole' ? pool : (pool * 96) / 112;
  const feature = (i: number, mirror: boolean): number[] => {
    const { data } = jpeg.decode(images[i], { useTArray: true, formatAsRGBA: false });
    const out = new Array<number>((112 / pool) * (w / poolW) * 3).fill(0);
    for (let y = 0; y < 112; y++) {
      for (let x = 0; x < w; x++) {
        const sx = cols[0] + (mirror ? w - 1 - x : x);
        const cell = ((y / pool) | 0) * (w / poolW) + ((x / poolW) | 0);
        for (let c = 0; c < 3; c++) out[cell * 3 + c] += pixel(data[(y * 112 + sx) * 3 + c]) / (pool * poolW);
      }
    }
    return out;
  };
  return { original: images.map((_, i) => feature(i, false)), flipped: images.map((_, i) => feature(i, true)) };
}

/** insightface verification.py on flip-summed features, written out again: squared L2 of the L2-normalised sums. */
function insightfaceReference(original: ArrayLike<number>[], flipped: ArrayLike<number>[]) {
  const fused = original.map((o, i) => {
    const s = Array.from(o, (v, j) => v + flipped[i][j]);
    const norm = Math.hypot(...s);
    return s.map((v) => v / norm);
  });
  const dist = same.map((_, i) => fused[2 * i].reduce((acc, v, j) => acc + (v - fused[2 * i + 1][j]) ** 2, 0));
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  for (const [lo, hi] of kFoldBounds(PAIRS, 10)) {
    const train = same.map((_, i) => i).filter((i) => i < lo || i >= hi);
    let best = -1;
    let bestT = 0;
    for (const t of INSIGHTFACE_THRESHOLDS) {
      const correct = train.filter((i) => dist[i] < t === same[i]).length;
      if (correct > best) [best, bestT] = [correct, t];
    }
    thresholds.push(bestT);
    let correct = 0;
    for (let i = lo; i < hi; i++) if (dist[i] < bestT === same[i]) correct++;
    accuracies.push(correct / (hi - lo));
  }
  return { accuracies, thresholds, mean: accuracies.reduce((a, b) => a + b) / accuracies.length };
}

const binFile = () => benchmarkFile(binPath) as BinFile;
const rows = (data: Float32Array, dim: number) => Array.from({ length: data.length / dim }, (_, i) => data.subarray(i * dim, (i + 1) * dim));

describe('benchmark crops', () => {
  it('takes the centre 112×96 of a .bin image for SphereFace crops and the whole image for square ones; refuses others', () => {
    expect(benchmarkCropProblem('sphereface-96x112', [112, 96])).toBeNull();
    expect(benchmarkCropProblem('sphereface-96x112', [56, 48])).toBeNull();
    expect(benchmarkCropProblem('insightface-112x112', [112, 112])).toBeNull();
    expect(benchmarkCropProblem('insightface-112x112', [112, 96])).toMatch(/not a centre crop/);
    expect(benchmarkCropProblem('sphereface-96x112', [112, 100])).toMatch(/not a centre crop/);
  });

  it('extracts the images once into a folder named by the file hash', () => {
    const file = binFile();
    expect(file).toMatchObject({ name: 'synth', kind: 'verification-bin', dataHash: sha256Hex(readFileSync(binPath)) });
    const first = prepareVerificationBin(file, { root, cache });
    expect(first.pairs).toBe(PAIRS);
    expect(first.same).toEqual(same);
    expect(first.imageDir).toBe(join(cache, 'verification-bin', file.dataHash));
    expect(first.items.map((it) => it.sha256)).toEqual(images.map((b) => sha256Hex(b)));
    const lines: string[] = [];
    expect(prepareVerificationBin(file, { root, cache, log: (l) => lines.push(l) })).toEqual(first);
    expect(lines).toEqual([]); // read from the index, not unpickled again
  });
});

describe('YouTube Faces roots', () => {
  it('cuts each frame’s face box to the crop: the template points mapped by the crop → box map', () => {
    const box = { centerX: 50, centerY: 60, width: 40, height: 40 };
    const points = boxLandmarks(box, 'sphereface-96x112', [112, 96]);
    // s = min(40/96, 40/112) = 40/112 frame pixels per crop pixel; the crop centre (47.5, 55.5) is the box centre.
    const s = 40 / 112;
    const template = [[29.2946, 50.6963], [64.5318, 50.5014], [47.0252, 70.7366], [32.5493, 91.3655], [61.7299, 91.2041]];
    points.forEach(([x, y], k) => {
      expect(x).toBeCloseTo(50 + (template[k][0] - 47.5) * s, 9);
      expect(y).toBeCloseTo(60 + (template[k][1] - 55.5) * s, 9);
    });
  });

  it('a published model on a YTF root: protocol ytf/ytf-video-mean over splits.txt’s 10 folds', async () => {
    const dir = join(scratch, 'pool-ytf');
    const model = tf.sequential({ layers: [tf.layers.averagePooling2d({ inputShape: [56, 48, 3], poolSize: [14, 12], strides: [14, 12] }), tf.layers.flatten()] });
    await model.save(fileSystemHandler(dir));
    model.dispose();
    const [outcome] = await evaluatePublishedModel({ dir, input: [56, 48], normalise: 'sphereface' }, { root, benchmarks: [ytfRootPath], cache, log: () => undefined });
    expect(outcome.entry).toMatchObject({ name: 'ytf', kind: 'ytf', pairs: 20 });
    expect(outcome.entry.protocols.map((p) => p.protocol)).toEqual(['ytf/ytf-video-mean']);
    expect(outcome.entry.protocols[0].foldAccuracies).toHaveLength(10);
    expect(outcome.record.identity.input.template).toBe('sphereface-96x112');
    // The data hash names the frames used: a frame cap is another view.
    const capped = benchmarkFile(ytfRootPath, { cache, ytfMaxFrames: 1 });
    expect(capped.dataHash).not.toBe(outcome.entry.dataHash);
    expect(benchmarkFile(ytfRootPath, { cache }).dataHash).toBe(outcome.entry.dataHash);
  });
});

describe('sphereface eval --model (published models)', () => {
  it('a LayersModel: features match an independent computation and sum-fusion-l2 follows the insightface rule; replayed when recorded', async () => {
    // 4×4 average pooling of the 112×96 crop: 48 features that can be computed from the pixels directly.
    const dir = join(scratch, 'pool-layers');
    const model = tf.sequential({ layers: [tf.layers.averagePooling2d({ inputShape: [112, 96, 3], poolSize: [28, 24], strides: [28, 24] }), tf.layers.flatten()] });
    await model.save(fileSystemHandler(dir));
    model.dispose();

    const loaded = await loadPublishedModel(dir);
    expect(loaded.format).toBe('layers-model');
    expect(loaded.declaredInput).toEqual([112, 96]);
    const bench = prepareVerificationBin(binFile(), { root, cache });
    const input = { crop: [112, 96] as [number, number], template: 'sphereface-96x112' as const, decoder: 'jpeg-js' as const, normalise: 'unit' as const };
    const features = await benchmarkFeatures(loaded, bench, input, { cache });
    loaded.dispose();
    const want = independentFeatures('centre-112x96', 28, (p) => p / 255);
    expect(features.dim).toBe(48);
    const got = { original: rows(features.original, 48), flipped: rows(features.flipped, 48) };
    for (let i = 0; i < 2 * PAIRS; i++) {
      for (let j = 0; j < 48; j++) {
        expect(got.original[i][j]).toBeCloseTo(want.original[i][j], 5);
        expect(got.flipped[i][j]).toBeCloseTo(want.flipped[i][j], 5);
      }
    }
    const result = evaluateBenchmark('synth', features, same);
    expect(result.protocols.map((p) => p.protocol)).toEqual(['synth/canonical', 'synth/best-threshold', 'synth/sum-fusion-l2', 'synth/no-flip']);
    const insight = result.protocols.find((p) => p.protocol === 'synth/sum-fusion-l2')!;
    const onComputed = insightfaceReference(got.original, got.flipped);
    expect(insight.thresholds).toEqual(onComputed.thresholds);
    expect(insight.foldAccuracies).toEqual(onComputed.accuracies);
    expect(insight.mean).toBeCloseTo(insightfaceReference(want.original, want.flipped).mean, 12);
    expect(insight.mean).toBeGreaterThan(0.9); // the identities are recoverable

    // Recorded under <records>/evaluations/<evaluationId>.json; the command then replays it (so it needs no cache).
    const lines: string[] = [];
    const [outcome] = await evaluatePublishedModel(
      { dir, input: [112, 96], normalise: 'unit', template: 'sphereface-96x112' },
      { root, benchmarks: [binPath], cache, log: (l) => lines.push(l) },
    );
    expect(outcome.replayed).toBe(false);
    const id = outcome.entry.evaluationId;
    const record = JSON.parse(readFileSync(evaluationRecordPath(root, id), 'utf8'));
    expect(record.benchmark.protocols.map((p: { protocol: string }) => p.protocol)).toEqual(result.protocols.map((p) => p.protocol));
    expect(record.benchmark.protocols[2].mean).toBeCloseTo(insight.mean, 12);
    expect(record.model.format).toBe('layers-model');
    expect(listRecordIds(root)).not.toContain(id); // evaluation records are not run records
    const out = captureConsole();
    expect(await main(['eval', '--model', dir, '--input', '112x96', '--normalise', 'unit', '--template', 'sphereface-96x112', '--benchmark', binPath])).toBe(0);
    expect(out.out()).toMatch(/synth already evaluated with this model/);
    expect(out.out()).toContain(`evaluation ${id}: ${evaluationRecordPath(root, id)}`);
    expect(out.out()).toContain('synth/sum-fusion-l2');
  });

  it('a GraphModel (hand-written GraphDef: average pool, reshape, matmul) with insightface normalisation on the whole image', async () => {
    const dir = join(scratch, 'pool-graph');
    const w = Float32Array.from({ length: 48 * 8 }, (_, i) => Math.sin(i * 1.7));
    const shape = Int32Array.from([-1, 48]);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const float = { type: 'DT_FLOAT' };
    const json = {
      format: 'graph-model',
      generatedBy: 'hand-written for benchmark-eval.test.ts',
      convertedBy: null,
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: float, shape: { shape: { dim: [{ size: '-1' }, { size: '112' }, { size: '112' }, { size: '3' }] } } } },
          { name: 'w', op: 'Const', attr: { dtype: float, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '48' }, { size: '8' }] } } } } },
          { name: 'shape', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } } } },
          {
            name: 'pool',
            op: 'AvgPool',
            input: ['x'],
            attr: { T: float, ksize: { list: { i: ['1', '28', '28', '1'] } }, strides: { list: { i: ['1', '28', '28', '1'] } }, padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } },
          },
          { name: 'flat', op: 'Reshape', input: ['pool', 'shape'], attr: { T: float, Tshape: { type: 'DT_INT32' } } },
          { name: 'embedding', op: 'MatMul', input: ['flat', 'w'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
        ],
        library: {},
        versions: { producer: 1 },
      },
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [48, 8], dtype: 'float32' }, { name: 'shape', shape: [2], dtype: 'int32' }] }],
    };
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(join(dir, 'weights.bin'), Buffer.concat([Buffer.from(w.buffer), Buffer.from(shape.buffer)]));

    const loaded = await loadPublishedModel(dir);
    expect(loaded.format).toBe('graph-model');
    expect(loaded.declaredInput).toEqual([112, 112]);
    const bench = prepareVerificationBin(binFile(), { root, cache });
    const features = await benchmarkFeatures(loaded, bench, { crop: [112, 112], template: 'insightface-112x112', decoder: 'jpeg-js', normalise: 'insightface' }, { cache });
    loaded.dispose();
    const pooled = independentFeatures('whole', 28, (p) => (p / 255 - 0.5) / 0.5);
    const project = (f: number[]) => Array.from({ length: 8 }, (_, k) => f.reduce((acc, v, j) => acc + v * w[j * 8 + k], 0));
    expect(features.dim).toBe(8);
    rows(features.original, 8).forEach((row, i) => project(pooled.original[i]).forEach((v, k) => expect(row[k]).toBeCloseTo(v, 4)));
    rows(features.flipped, 8).forEach((row, i) => project(pooled.flipped[i]).forEach((v, k) => expect(row[k]).toBeCloseTo(v, 4)));

    const outcomes = await evaluatePublishedModel({ dir, input: [112, 112], normalise: 'insightface' }, { root, benchmarks: [binPath], cache, log: () => undefined });
    expect(outcomes[0].record.identity.input.template).toBe('insightface-112x112'); // the default for a square input
    expect(outcomes[0].entry.protocols.map((p) => p.protocol)).toContain('synth/sum-fusion-l2');
    const onComputed = insightfaceReference(rows(features.original, 8), rows(features.flipped, 8));
    expect(outcomes[0].entry.protocols.find((p) => p.protocol === 'synth/sum-fusion-l2')!.foldAccuracies).toEqual(onComputed.accuracies);
    await expect(evaluatePublishedModel({ dir, input: [112, 96], normalise: 'insightface', template: 'sphereface-96x112' }, { root, benchmarks: [binPath], cache })).rejects.toThrow(
      /declares an input of 112×112, not the --input 112×96/,
    );
  });

  it('a SphereFace-4 saved as a LayersModel gives the same features through the published-model path as through the run path (embedCrops)', async () => {
    const dir = join(scratch, 'sphereface4');
    const model = createModel('sphereface4', { inputSize: [56, 48], widthMultiplier: 0.125, embeddingDim: 16, seed: 3 });
    await model.save(fileSystemHandler(dir));
    model.dispose();
    const loaded = await loadPublishedModel(dir);
    const bench = prepareVerificationBin(binFile(), { root, cache });
    const input = { crop: [56, 48] as [number, number], template: 'sphereface-96x112' as const, decoder: 'jpeg-js' as const, normalise: 'sphereface' as const };
    const published = await benchmarkFeatures(loaded, bench, input, { cache });
    const run = await benchmarkFeatures(loaded, bench, input, { cache, viaEmbedCrops: true });
    loaded.dispose();
    expect(published.dim).toBe(16);
    for (let i = 0; i < published.original.length; i++) {
      expect(published.original[i]).toBeCloseTo(run.original[i], 4);
      expect(published.flipped[i]).toBeCloseTo(run.flipped[i], 4);
    }
  });
});

describe('sphereface eval <run-id>', () => {
  it('adds the benchmark protocols to a smoke run’s record, keeps its run ID, replays, and `show` lists them', async () => {
    expect(RUN_LOCK_FILE).toBe(LOCK_FILE);
    const run = await runExperiment({ root, experiment: 'table3', variant: 'a-softmax-m4', profile: 'smoke', seed: 0, log: () => undefined });
    const path = recordPath(root, run.runId, 'smoke');
    const lines: string[] = [];
    const first = await evaluateRun(run.runId.slice(0, 8), { root, benchmarks: [binPath], cache, log: (l) => lines.push(l) });
    expect(first.outcomes.map((o) => o.replayed)).toEqual([false]);
    const stored = readRecord(root, run.runId);
    expect(stored.runId).toBe(run.runId);
    expect(stored.metrics).toEqual(run.metrics);
    expect(stored.benchmarks).toHaveLength(1);
    const entry = stored.benchmarks![0];
    expect(entry).toMatchObject({ name: 'synth', kind: 'verification-bin', pairs: PAIRS, dataHash: sha256Hex(readFileSync(binPath)) });
    expect(entry.input).toEqual({ crop: [56, 48], template: 'sphereface-96x112', decoder: 'jpeg-js', normalise: 'sphereface' });
    const names = [...stored.metrics.lfw, ...entry.protocols].map((p) => p.protocol);
    expect(entry.protocols.map((p) => p.protocol)).toEqual(['synth/canonical', 'synth/best-threshold', 'synth/sum-fusion-l2', 'synth/no-flip']);
    expect(new Set(names).size).toBe(names.length);
    expect(entry.protocols[0].foldAccuracies).toHaveLength(10);
    expect(formatShow(stored)).toContain('synth/sum-fusion-l2');

    // A YTF root beside it: one more entry, its protocol named apart from the others.
    const withYtf = await evaluateRun(run.runId, { root, benchmarks: [binPath, ytfRootPath], cache, log: (l) => lines.push(l) });
    expect(withYtf.outcomes.map((o) => [o.entry.name, o.replayed])).toEqual([['synth', true], ['ytf', false]]);
    expect(withYtf.record.benchmarks!.map((b) => b.name)).toEqual(['synth', 'ytf']);
    expect(readRecord(root, run.runId).benchmarks![1].protocols.map((p) => p.protocol)).toEqual(['ytf/ytf-video-mean']);

    const text = readFileSync(path, 'utf8');
    lines.length = 0;
    const again = await evaluateRun(run.runId, { root, benchmarks: [binPath], cache, log: (l) => lines.push(l) });
    expect(again.outcomes).toEqual([{ entry, replayed: true }]);
    expect(lines.some((l) => l.includes('synth already evaluated'))).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(text);

    const forced = await evaluateRun(run.runId, { root, benchmarks: [binPath], cache, force: true, log: () => undefined });
    expect(forced.record.benchmarks!.map((b) => b.name)).toEqual(['ytf', 'synth']); // replaced, not added
    const again2 = forced.record.benchmarks![1];
    expect(again2.evaluationId).toBe(entry.evaluationId);
    expect(again2.evaluatedAt).not.toBe(entry.evaluatedAt);
    expect(again2.protocols).toEqual(entry.protocols); // the same model, data and code: the same numbers
    expect(readRecord(root, run.runId).runId).toBe(run.runId);

    // The command: replays (the cache is not needed for that), and rejects what does not go together.
    const out = captureConsole();
    expect(await main(['eval', run.runId, '--benchmark', binPath])).toBe(0);
    expect(out.out()).toContain('synth already evaluated');
    expect(out.out()).toContain('synth/canonical');
    expect(await main(['show', run.runId])).toBe(0);
    expect(out.out()).toMatch(/benchmark synth: 40 pairs/);
    expect(await main(['eval', run.runId])).toBe(2);
    expect(out.err()).toContain('eval needs at least one --benchmark PATH');
    expect(await main(['eval', run.runId, '--benchmark', binPath, '--input', '112x96'])).toBe(2);
    expect(out.err()).toContain('--input go with --model');
    expect(await main(['eval', '--model', scratch, '--benchmark', binPath, '--normalise', 'unit'])).toBe(2);
    expect(out.err()).toContain('--model needs --input HxW');
    expect(await main(['eval', '--model', scratch, '--input', '112x96', '--benchmark', binPath])).toBe(2);
    expect(out.err()).toContain('--model needs --normalise sphereface|insightface|unit');
    expect(await main(['eval', '--bogus'])).toBe(2);
    expect(await main(['eval', '--help'])).toBe(0);
    expect(out.out()).toContain('usage: sphereface eval <run-id> --benchmark PATH');
  });
});
