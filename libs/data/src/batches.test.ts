import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CropBatch, cropBatches, epochPlan, streamBatches } from './batches';
import { loadCrops } from './crop-cache';
import type { IdentityDataset } from './datasets';
import { generateFaces } from './test-images';
import { CropPool } from './worker-pool';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const faces = generateFaces(10, 2);
const labels = faces.items.map((it) => it.label);
const H = 112, W = 96, SIZE = H * W * 3;

beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
});

async function collect(gen: Iterable<CropBatch> | AsyncIterable<CropBatch>) {
  const out: { indices: number[]; flipped: number[]; labels: number[]; x: Float32Array; shape: number[] }[] = [];
  for await (const b of gen) {
    out.push({ indices: Array.from(b.indices), flipped: Array.from(b.flipped), labels: Array.from(await b.labels.data()), x: (await b.x.data()) as Float32Array, shape: b.x.shape });
    b.x.dispose();
    b.labels.dispose();
  }
  return out;
}

describe('epoch plan', () => {
  it('is a deterministic function of (seed, epoch, n), visiting every item once', () => {
    const o = { batchSize: 4, seed: 5, epoch: 0, flip: true };
    const a = epochPlan(100, o);
    expect(Array.from(epochPlan(100, o).order)).toEqual(Array.from(a.order));
    expect(Array.from(epochPlan(100, o).flips)).toEqual(Array.from(a.flips));
    expect(new Set(a.order).size).toBe(100);
    expect(Array.from(epochPlan(100, { ...o, epoch: 1 }).order)).not.toEqual(Array.from(a.order));
    const flips = a.flips.reduce((s, f) => s + f, 0);
    expect(flips).toBeGreaterThan(30);
    expect(flips).toBeLessThan(70);
    expect(epochPlan(100, { ...o, flip: false }).flips.every((f) => f === 0)).toBe(true);
    expect(Array.from(epochPlan(5, { ...o, shuffle: false }).order)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('batches', () => {
  it('are [N,112,96,3] float32 tensors of normalised, optionally mirrored crops, without leaks', async () => {
    const crops = await loadCrops(faces.imageDir, faces.items, { dir: mkdtempSync(join(tmpdir(), 'sf-b-')), workers: 0 });
    const before = tf.memory().numTensors;
    const batches = await collect(cropBatches(crops, labels, { batchSize: 4, seed: 1, epoch: 0, flip: true }));
    expect(tf.memory().numTensors).toBe(before);
    expect(batches.map((b) => b.shape)).toEqual([[4, H, W, 3], [4, H, W, 3], [2, H, W, 3]]);
    expect(batches.flatMap((b) => b.indices).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(batches.flatMap((b) => b.flipped)).toContain(1);
    expect(batches.flatMap((b) => b.flipped)).toContain(0);
    for (const b of batches) {
      b.indices.forEach((item, n) => {
        expect(b.labels[n]).toBe(labels[item]);
        const crop = crops.data.subarray(item * SIZE, (item + 1) * SIZE);
        for (const [y, x, c] of [[0, 0, 0], [50, 10, 1], [111, 95, 2], [60, 47, 0]]) {
          const srcX = b.flipped[n] ? W - 1 - x : x;
          expect(b.x[n * SIZE + (y * W + x) * 3 + c]).toBe(Math.fround((crop[(y * W + srcX) * 3 + c] - 127.5) / 128));
        }
      });
    }
    const again = await collect(cropBatches(crops, labels, { batchSize: 4, seed: 1, epoch: 0, flip: true }));
    expect(again.map((b) => b.indices)).toEqual(batches.map((b) => b.indices));
    expect(Buffer.from(again[0].x.buffer).equals(Buffer.from(batches[0].x.buffer))).toBe(true);
    const dropped = await collect(cropBatches(crops, labels, { batchSize: 4, seed: 1, epoch: 0, dropLast: true }));
    expect(dropped.length).toBe(2);
  });

  it('streamed on worker threads with prefetch: the same batches as from the crop cache', async () => {
    const ds: IdentityDataset = {
      name: 'generated', imageDir: faces.imageDir, identities: ['id0', 'id1', 'id2', 'id3'],
      items: faces.items.map((it) => ({ ...it })), skipped: [], provenance: {},
    };
    const crops = await loadCrops(faces.imageDir, faces.items, { dir: mkdtempSync(join(tmpdir(), 'sf-b-')), workers: 0 });
    const pool = new CropPool(2);
    try {
      for (const epoch of [2, 3]) {
        const o = { batchSize: 3, seed: 9, epoch, flip: true };
        const before = tf.memory().numTensors;
        const streamed = await collect(streamBatches(ds, { ...o, pool, prefetch: 2 })); // the pool outlives the epoch
        expect(tf.memory().numTensors).toBe(before);
        const cached = await collect(cropBatches(crops, labels, o));
        expect(streamed.map((b) => [b.indices, b.flipped, b.labels])).toEqual(cached.map((b) => [b.indices, b.flipped, b.labels]));
        streamed.forEach((b, k) => expect(Buffer.from(b.x.buffer).equals(Buffer.from(cached[k].x.buffer))).toBe(true));
      }
    } finally {
      await pool.close();
    }
  }, 60_000); // worker start-up compiles the TypeScript sources (~2 s each)
});
