import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type AlignOptions, resolveAlign } from './align';
import type { CropSet } from './crop-cache';
import type { IdentityDataset } from './datasets';
import { DataError, type OnBad, type Skipped } from './errors';
import { normalisePixel } from './image';
import { permutation, rngFor } from './prng';
import { decodedBytesError } from './process';
import { CropPool } from './worker-pool';

/** Stream ids for rngFor(seed, epoch, stream). */
const STREAM_ORDER = 1;
const STREAM_FLIP = 2;

export interface CropBatch {
  /** [N, H, W, 3] float32, RGB, (x − 127.5)/128. */
  x: tf.Tensor4D;
  /** [N] int32 class labels. */
  labels: tf.Tensor1D;
  /** Dataset item index of each row. */
  indices: Int32Array;
  /** 1 where the row was mirrored. */
  flipped: Uint8Array;
  /** Items of this batch left out as bad input (onBad 'skip'). */
  skipped: Skipped[];
}

export interface EpochOptions {
  batchSize: number;
  seed: number;
  epoch: number;
  /** Shuffle the order (default true); the order depends only on (seed, epoch, count). */
  shuffle?: boolean;
  /** Mirror each example with probability ½ (default false), drawn from its own (seed, epoch) stream. */
  flip?: boolean;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
}

/** Item order and flip flags of one epoch, deterministic in (seed, epoch, n). */
export function epochPlan(n: number, o: EpochOptions): { order: Int32Array; flips: Uint8Array } {
  const order = o.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n, rngFor(o.seed, o.epoch, STREAM_ORDER));
  const flipRng = rngFor(o.seed, o.epoch, STREAM_FLIP);
  const flips = new Uint8Array(n);
  if (o.flip) for (let i = 0; i < n; i++) flips[i] = flipRng() < 0.5 ? 1 : 0;
  return { order, flips };
}

function batchRanges(n: number, o: EpochOptions): [number, number][] {
  if (!(Number.isInteger(o.batchSize) && o.batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${o.batchSize}`);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += o.batchSize) {
    const e = Math.min(n, s + o.batchSize);
    if (e - s === o.batchSize || !o.dropLast) out.push([s, e]);
  }
  return out;
}

/** normalisePixel for every byte value, so the batch loop is a table look-up. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => normalisePixel(v));

/** Normalise (and mirror where flagged) HWC crops into one [N, H, W, 3] tensor. */
export function cropsToTensor(crops: Uint8Array[], flips: ArrayLike<number>, height: number, width: number): tf.Tensor4D {
  const row = width * 3;
  const out = new Float32Array(crops.length * height * row);
  crops.forEach((c, n) => {
    for (let y = 0, o = n * height * row; y < height; y++, o += row) {
      const s = y * row;
      if (!flips[n]) {
        for (let k = 0; k < row; k++) out[o + k] = NORMALISED[c[s + k]];
      } else {
        for (let x = 0; x < width; x++) {
          const si = s + (width - 1 - x) * 3, d = o + x * 3;
          out[d] = NORMALISED[c[si]];
          out[d + 1] = NORMALISED[c[si + 1]];
          out[d + 2] = NORMALISED[c[si + 2]];
        }
      }
    }
  });
  return tf.tensor4d(out, [crops.length, height, width, 3], 'float32');
}

/**
 * Batches of one epoch from crops held in memory (e.g. loadCrops). `labels[i]` is the label
 * of input item i; crops.kept maps stored crops back to items.
 */
export function* cropBatches(crops: CropSet, labels: ArrayLike<number>, o: EpochOptions): Generator<CropBatch> {
  const size = crops.height * crops.width * 3;
  const { order, flips } = epochPlan(crops.kept.length, o);
  for (const [s, e] of batchRanges(order.length, o)) {
    const rows = order.subarray(s, e);
    const pix = Array.from(rows, (r) => crops.data.subarray(r * size, (r + 1) * size));
    const f = Uint8Array.from(rows, (r) => flips[r]);
    const indices = Int32Array.from(rows, (r) => crops.kept[r]);
    yield {
      x: cropsToTensor(pix, f, crops.height, crops.width),
      labels: tf.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32'),
      indices,
      flipped: f,
      skipped: [],
    };
  }
}

export interface StreamOptions extends EpochOptions {
  align?: Partial<AlignOptions>;
  /** Worker threads decoding and aligning in the background (default 2). */
  workers?: number;
  /** A pool to reuse across epochs (each new worker spends ~2 s compiling); left open. */
  pool?: CropPool;
  /** Batches being prepared ahead of the one the consumer holds (default 2). */
  prefetch?: number;
  onBad?: OnBad;
}

/**
 * One epoch of batches decoded and aligned on worker threads while the consumer trains:
 * `prefetch` batches are always in preparation. The caller disposes each batch's tensors.
 */
export async function* streamBatches(ds: IdentityDataset, o: StreamOptions): AsyncGenerator<CropBatch> {
  const align = resolveAlign(o.align);
  const { order, flips } = epochPlan(ds.items.length, o);
  const ranges = batchRanges(order.length, o);
  const pool = o.pool ?? new CropPool(o.workers ?? 2);
  const depth = Math.max(1, o.prefetch ?? 2);
  const start = (k: number) => {
    const rows = order.subarray(...ranges[k]);
    const tasks = Array.from(rows, (r) => ({ path: join(ds.imageDir, ds.items[r].rel), landmarks: ds.items[r].landmarks, landmarksAt: ds.items[r].landmarksAt }));
    return pool.run(tasks, align).then((results) => ({ rows, results }));
  };
  const inFlight = ranges.slice(0, depth).map((_, k) => start(k));
  try {
    for (let k = 0; k < ranges.length; k++) {
      const { rows, results } = await inFlight[k];
      if (k + depth < ranges.length) inFlight.push(start(k + depth));
      const skipped: Skipped[] = [];
      const keep: number[] = [];
      results.forEach((r, i) => {
        const item = ds.items[rows[i]];
        const bad = item.sha256 === undefined ? null : decodedBytesError(join(ds.imageDir, item.rel), item.sha256, r);
        if (bad) throw bad; // a file that changed since the manifest was checked: never skipped
        if (r.ok) keep.push(i);
        else if (o.onBad === 'skip') skipped.push(r.skipped);
        else throw new DataError(r.skipped.reason, r.skipped.file, r.skipped.line);
      });
      const indices = Int32Array.from(keep, (i) => rows[i]);
      const f = Uint8Array.from(indices, (r) => flips[r]);
      yield {
        x: cropsToTensor(keep.map((i) => (results[i] as { data: Uint8Array }).data), f, align.height, align.width),
        labels: tf.tensor1d(Int32Array.from(indices, (r) => ds.items[r].label), 'int32'),
        indices,
        flipped: f,
        skipped,
      };
    }
  } finally {
    await Promise.allSettled(inFlight);
    if (!o.pool) await pool.close();
  }
}
