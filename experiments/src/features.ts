import * as tf from '@tensorflow/tfjs';
import { assembleBatch, buildCropStore, pairImages, type AlignOptions, type CropSource, type LfwPairsWithData } from '@sphereface/data';
import { extractEmbeddings } from '@sphereface/models';

/** Rows of features: row i is `data[i·cols … (i+1)·cols)`. */
export interface FeatureRows {
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * Crops start … start+count−1 of a crop source as a normalised, unmirrored [count, H, W, 3] tensor; with a margin,
 * their centre windows (crops aligned with a margin for random-crop training: the window is the crop without it).
 */
function cropRange(crops: CropSource, start: number, count: number, margin: number): tf.Tensor4D {
  const height = crops.height - 2 * margin, width = crops.width - 2 * margin;
  const plan = { indices: Int32Array.from({ length: count }, (_, i) => start + i), flips: new Uint8Array(count), height, width, corners: new Int16Array(2 * count).fill(margin) };
  return tf.tensor4d(assembleBatch(crops, plan), [count, height, width, 3]);
}

/** Embeddings of the original and the mirrored crops (their centre windows with a margin), [N, D] each, in chunks to bound memory. */
export function embedCrops(backbone: tf.LayersModel, crops: CropSource, opts: { margin?: number; chunk?: number } = {}): { original: Float32Array; flipped: Float32Array; dim: number } {
  const { margin = 0, chunk = 256 } = opts;
  const n = crops.count;
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const images = cropRange(crops, start, count, margin);
    const fused = extractEmbeddings(backbone, images, 'concat');
    dim = fused.shape[1] / 2;
    parts.push(fused.dataSync() as Float32Array);
    tf.dispose([images, fused]);
  }
  const original = new Float32Array(n * dim);
  const flipped = new Float32Array(n * dim);
  let row = 0;
  for (const part of parts) {
    for (let r = 0; r < part.length / (2 * dim); r++, row++) {
      original.set(part.subarray(r * 2 * dim, r * 2 * dim + dim), row * dim);
      flipped.set(part.subarray(r * 2 * dim + dim, (r + 1) * 2 * dim), row * dim);
    }
  }
  return { original, flipped, dim };
}

/** The given rows of a feature matrix, in that order. */
export function gatherRows(features: Float32Array, dim: number, rows: number[]): FeatureRows {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  return { rows: rows.length, cols: dim, data: out };
}

/** Stage 4 for LFW: features of every image the pairs use, original and mirrored, and each pair's two rows. */
export interface LfwFeatures {
  original: Float32Array;
  flipped: Float32Array;
  dim: number;
  /** Row of each pair's first and second image. */
  left: number[];
  right: number[];
}

export async function lfwFeatures(backbone: tf.LayersModel, lfw: LfwPairsWithData, align: AlignOptions): Promise<LfwFeatures> {
  const images = pairImages(lfw);
  const crops = await buildCropStore(lfw.imageDir, images, { align });
  let embedded;
  try {
    embedded = embedCrops(backbone, crops);
  } finally {
    crops.close();
  }
  const { original, flipped, dim } = embedded;
  const index = new Map(images.map((it, i) => [it.rel, i]));
  return { original, flipped, dim, left: lfw.pairs.map((p) => index.get(p.a)!), right: lfw.pairs.map((p) => index.get(p.b)!) };
}
