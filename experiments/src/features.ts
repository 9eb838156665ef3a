import * as tf from '@tensorflow/tfjs';
import { buildCropStore, pairImages, type AlignOptions, type LfwPairsWithData } from '@sphereface/data';
import { embedCrops } from '@sphereface/models';

/** Rows of features: row i is `data[i·cols … (i+1)·cols)`. */
export interface FeatureRows {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Moved to @sphereface/models (embed.ts), where the LFW embedding benchmark times it; re-exported for this package's importers. */
export { embedCrops };

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
