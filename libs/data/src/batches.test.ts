import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchProvider, CropBatchProvider, type CropBatchProviderState } from './batches';
import { buildCropStore, type CropStore, memoryCrops } from './crop-store';
import { generateFaces } from './test-images';

beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
});

interface Taken {
  labels: number[];
  shape: number[];
  data: Float32Array;
}

/** The next batches of `sizes`, read back and disposed. */
async function take(provider: BatchProvider, sizes: number[]): Promise<Taken[]> {
  const out: Taken[] = [];
  for (const size of sizes) {
    const b = await provider.next(size);
    expect([b.images.dtype, b.labels.dtype]).toEqual(['float32', 'int32']);
    out.push({ labels: Array.from(b.labels.dataSync()), shape: b.images.shape, data: Float32Array.from(b.images.dataSync()) });
    tf.dispose([b.images, b.labels]);
  }
  return out;
}

/** Two takes hold the same batches: labels, shapes and every float bit. */
function expectSame(a: Taken[], b: Taken[]): void {
  expect(a.map((t) => [t.labels, t.shape])).toEqual(b.map((t) => [t.labels, t.shape]));
  a.forEach((t, k) => expect(Buffer.from(t.data.buffer).equals(Buffer.from(b[k].data.buffer)), `batch ${k}`).toBe(true));
}

/**
 * The order the in-memory ArrayBatchProvider (libs/models, before the crop store) handed out: one Mulberry32(seed)
 * shuffles [0, n) at the start and again each time an epoch is used up, so batches run on across epochs.
 */
function arrayProviderOrder(seed: number, n: number, total: number): number[] {
  const rng = new Mulberry32(seed);
  const out: number[] = [];
  while (out.length < total) out.push(...rng.shuffle([...Array(n).keys()]));
  return out.slice(0, total);
}

/** The mirror flags the Trainer drew before the provider mirrored: Mulberry32(seed), one draw per row, < ½ mirrors. */
function trainerFlips(seed: number, total: number): number[] {
  const rng = new Mulberry32(seed);
  return Array.from({ length: total }, () => (rng.next() < 0.5 ? 1 : 0));
}

/**
 * What a row must hold, written independently of the provider: the h×w window at (top, left) of an H×W crop, then
 * mirrored when flagged: pixel (y, x) is crop pixel (top + y, left + x') with x' = w − 1 − x when mirrored, else x,
 * each channel as (p − 127.5)/128 in float32.
 */
function expectedRow(crop: Uint8Array, cropWidth: number, h: number, w: number, flip: number, top: number, left: number): Float32Array {
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = top + y, sx = left + (flip ? w - 1 - x : x);
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = (crop[(sy * cropWidth + sx) * 3 + c] - 127.5) / 128;
    }
  }
  return out;
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** For each row of the batches: the one crop, mirror flag and h×w window of the H×W crops that give exactly its values. */
function identifyRows(batches: Taken[], crops: Uint8Array[], window: { h: number; w: number } = { h: H, w: W }) {
  const { h, w } = window;
  const size = h * w * 3;
  const rows: { index: number; flip: number; top: number; left: number; label: number }[] = [];
  for (const b of batches) {
    b.labels.forEach((label, n) => {
      const row = b.data.subarray(n * size, (n + 1) * size);
      const matches: { index: number; flip: number; top: number; left: number; label: number }[] = [];
      crops.forEach((crop, index) => {
        for (const flip of [0, 1]) {
          for (let top = 0; top <= H - h; top++) {
            for (let left = 0; left <= W - w; left++) if (same(row, expectedRow(crop, W, h, w, flip, top, left))) matches.push({ index, flip, top, left, label });
          }
        }
      });
      expect(matches, 'each row is exactly one crop window, mirrored or not').toHaveLength(1);
      rows.push(matches[0]);
    });
  }
  return rows;
}

// Small random crops: 7 of 6×5.
const N = 7, H = 6, W = 5, SIZE = H * W * 3;
const rand = new Mulberry32(17);
const bytes = Uint8Array.from({ length: N * SIZE }, () => 1 + Math.floor(rand.next() * 255));
const crops = Array.from({ length: N }, (_, i) => bytes.subarray(i * SIZE, (i + 1) * SIZE));
// Distinct labels that are not the crop index, so a row's label shows which crop the provider meant.
const LABELS = Int32Array.from({ length: N }, (_, i) => (3 * i + 2) % N);
const memory = () => memoryCrops(bytes, H, W);

describe('CropBatchProvider over crops in memory', () => {
  it("hands out the ArrayBatchProvider's order (Mulberry32(seed) shuffles, continued across epochs), a batch spanning two epochs", async () => {
    const provider = new CropBatchProvider(memory(), LABELS, N, 5, { mirror: false });
    const batches = await take(provider, [3, 3, 3, 3, 3]); // 15 rows: epochs 0 and 1, and 1 of epoch 2; batch 2 spans epochs 0 and 1
    expect(batches.map((b) => b.shape)).toEqual(Array(5).fill([3, H, W, 3]));
    const rows = identifyRows(batches, crops);
    const order = arrayProviderOrder(5, N, 15);
    expect(rows.map((r) => r.index)).toEqual(order);
    expect(rows.map((r) => r.label)).toEqual(order.map((i) => LABELS[i]));
    expect(rows.every((r) => r.flip === 0)).toBe(true);
    // Each epoch visits every crop once, and the next epoch is shuffled anew.
    expect([...order.slice(0, N)].sort()).toEqual([...Array(N).keys()]);
    expect([...order.slice(N, 2 * N)].sort()).toEqual([...Array(N).keys()]);
    expect(order.slice(N, 2 * N)).not.toEqual(order.slice(0, N));
    // Deterministic in the seed, and the state says where the batches ended.
    expectSame(await take(new CropBatchProvider(memory(), LABELS, N, 5, { mirror: false }), [3, 3, 3, 3, 3]), batches);
    expect(provider.getState()).toMatchObject({ epoch: 2, cursor: 1 });
    const other = identifyRows(await take(new CropBatchProvider(memory(), LABELS, N, 6, { mirror: false }), [3, 3]), crops);
    expect(other.map((r) => r.index)).toEqual(arrayProviderOrder(6, N, 6));
    expect(other.map((r) => r.index)).not.toEqual(order.slice(0, 6));
  });

  it("mirrors rows with the Trainer's former draws (Mulberry32(seed), one per row), in the same order, with exact values", async () => {
    const plain = identifyRows(await take(new CropBatchProvider(memory(), LABELS, N, 8, { mirror: false }), [4, 4, 4, 4, 4]), crops);
    const mirrored = identifyRows(await take(new CropBatchProvider(memory(), LABELS, N, 8), [4, 4, 4, 4, 4]), crops); // mirror: the default
    expect(mirrored.map((r) => r.index)).toEqual(plain.map((r) => r.index));
    expect(mirrored.map((r) => r.flip)).toEqual(trainerFlips(8, 20));
    expect(mirrored.map((r) => r.flip)).toContain(1);
    expect(mirrored.map((r) => r.flip)).toContain(0);
    // Batch sizes do not change the draws: they run on row by row.
    const uneven = identifyRows(await take(new CropBatchProvider(memory(), LABELS, N, 8), [1, 5, 2, 7, 5]), crops);
    expect(uneven).toEqual(mirrored);
  });

  it('cuts random windows (random crop) with draws from a generator of their own, then mirrors, exact values', async () => {
    const window = { height: H - 2, width: W - 2 }, sizes = Array(20).fill(4); // 80 rows of 4×3 windows of 6×5 crops
    const whole = identifyRows(await take(new CropBatchProvider(memory(), LABELS, N, 3), sizes), crops);
    const batches = await take(new CropBatchProvider(memory(), LABELS, N, 3, { window }), sizes);
    expect(batches[0].shape).toEqual([4, H - 2, W - 2, 3]);
    const rows = identifyRows(batches, crops, { h: H - 2, w: W - 2 }); // every value checked
    // Order and mirror draws are those without windows; the whole crop is the window at (0, 0).
    expect(rows.map((r) => [r.index, r.flip, r.label])).toEqual(whole.map((r) => [r.index, r.flip, r.label]));
    expect(whole.every((r) => r.top === 0 && r.left === 0)).toBe(true);
    for (const axis of ['top', 'left'] as const) expect(new Set(rows.map((r) => r[axis]))).toEqual(new Set([0, 1, 2]));
    // Deterministic in the seed.
    expectSame(await take(new CropBatchProvider(memory(), LABELS, N, 3, { window }), sizes), batches);
  });

  it('leaks no tensors, answers synchronously, and checks its arguments', async () => {
    const provider = new CropBatchProvider(memory(), LABELS, N, 1, { window: { height: H - 1, width: W - 1 } });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 6; i++) {
      const b = provider.next(4);
      expect(b).not.toBeInstanceOf(Promise); // in memory: assembled when asked, no workers
      tf.dispose([(b as Awaited<typeof b>).images, (b as Awaited<typeof b>).labels]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => provider.next(0)).toThrow(/batchSize must be a positive integer/);
    expect(() => new CropBatchProvider(memory(), LABELS.subarray(1), N, 1)).toThrow(/6 labels for 7 crops/);
    expect(() => new CropBatchProvider(memory(), LABELS, N - 1, 1)).toThrow(/label 6 of crop \d is outside \[0, 6\)/);
    expect(() => new CropBatchProvider(memory(), LABELS, N, 1, { window: { height: H, width: W + 1 } })).toThrow(/window 6×6 must be positive integers within the 6×5 crops/);
    expect(() => memoryCrops(bytes.subarray(1), H, W)).toThrow(/not whole 6×5×3 crops/);
  });

  it('getState/setState: a provider set to a saved state hands out the same following batches', async () => {
    const a = new CropBatchProvider(memory(), LABELS, N, 4, { window: { height: H - 1, width: W - 1 } });
    await take(a, [3, 3]);
    const state = JSON.parse(JSON.stringify(a.getState())) as CropBatchProviderState; // as a checkpoint stores it
    const following = await take(a, [3, 3, 3, 3]);
    const b = new CropBatchProvider(memory(), LABELS, N, 99, { window: { height: H - 1, width: W - 1 } }); // another seed: the state is everything
    b.setState(state);
    expectSame(await take(b, [3, 3, 3, 3]), following);
    a.setState(state); // back to the saved position
    expectSame(await take(a, [3, 3, 3, 3]), following);
    expect(() => b.setState({ ...state, order: state.order.slice(1) })).toThrow(/does not belong to this dataset/);
    expect(() => b.setState({ epoch: 0, cursor: 0, order: state.order, rng: 1 })).toThrow(/does not belong to this dataset/); // an ArrayBatchProvider's
  });
});

describe('CropBatchProvider over a CropStore, assembled on worker threads', () => {
  const faces = generateFaces(10, 2);
  const labels = Int32Array.from(faces.items, (it) => it.label);
  let store: CropStore;
  let inMemory: ReturnType<typeof memoryCrops>;
  const open: CropBatchProvider[] = [];
  const provider = (seed: number, prefetch?: number, source: 'store' | 'memory' = 'store') => {
    const p = new CropBatchProvider(source === 'store' ? store : inMemory, labels, 4, seed, { window: { height: 52, width: 44 }, ...(prefetch !== undefined ? { prefetch } : {}) });
    open.push(p);
    return p;
  };

  beforeAll(async () => {
    // 56×48 crops in shards of 4: the workers read across three shards.
    store = await buildCropStore(faces.imageDir, faces.items, { dir: mkdtempSync(join(tmpdir(), 'sf-b-')), workers: 0, shardSize: 4, align: { height: 56, width: 48 } });
    expect([store.count, store.height, store.width]).toEqual([10, 56, 48]);
    inMemory = memoryCrops(store.readRange(0, store.count), store.height, store.width);
  });
  afterAll(async () => {
    for (const p of open) await p.close();
    store.close();
  });

  it('gives the same batches as memoryCrops of the same crops, also when the batch size changes, without leaks', async () => {
    const sizes = [4, 4, 3, 3, 4, 6, 4]; // 28 rows: nearly 3 epochs of 10
    const before = tf.memory().numTensors;
    const p = provider(7, 3);
    const first = p.next(4);
    expect(first).toBeInstanceOf(Promise); // assembled on a worker, prefetched
    const b0 = await first;
    const fromStore: Taken[] = [{ labels: Array.from(b0.labels.dataSync()), shape: b0.images.shape, data: Float32Array.from(b0.images.dataSync()) }];
    tf.dispose([b0.images, b0.labels]);
    fromStore.push(...(await take(p, sizes.slice(1))));
    expect(tf.memory().numTensors).toBe(before);
    const fromMemory = await take(provider(7, 0, 'memory'), sizes);
    expectSame(fromStore, fromMemory);
    expect(fromStore.map((b) => b.shape[0])).toEqual(sizes);
    // The store's bytes as they are, normalised: the first row of an unaugmented batch is that crop.
    const plain = new CropBatchProvider(store, labels, 4, 7, { mirror: false, prefetch: 1 });
    open.push(plain);
    const [b] = await take(plain, [2]);
    const index = arrayProviderOrder(7, 10, 1)[0];
    expect(Array.from(b.data.subarray(0, 56 * 48 * 3))).toEqual(Array.from(store.read(index), (v) => Math.fround((v - 127.5) / 128)));
  }, 60_000); // starting a worker compiles the TypeScript sources in it (~2 s)

  it('setState with prefetched batches outstanding: the batches that follow the saved state, not the prefetched ones', async () => {
    const a = provider(11, 3);
    await take(a, [4, 4, 4]); // three more are being prefetched now
    const state = JSON.parse(JSON.stringify(a.getState())) as CropBatchProviderState;
    expect(state).toMatchObject({ epoch: 1, cursor: 2 }); // where the handed-out batches end, not the prefetched ones
    const following = await take(a, [4, 4, 4, 4]);
    // A fresh provider (another seed; prefetching from its first call), and the same provider rewound.
    const b = provider(12, 2);
    await take(b, [4]);
    b.setState(state);
    expectSame(await take(b, [4, 4, 4, 4]), following);
    a.setState(state);
    expectSame(await take(a, [4, 4, 4, 4]), following);
    // The state carries over to the in-memory provider, and a closed provider starts its workers again.
    const m = provider(13, 0, 'memory');
    m.setState(state);
    expectSame(await take(m, [4, 4, 4, 4]), following);
    a.setState(state);
    await a.close();
    expectSame(await take(a, [4, 4, 4, 4]), following);
  }, 60_000);
});
