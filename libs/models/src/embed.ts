import * as tf from '@tensorflow/tfjs';
import { normalisePixel, type CropSource } from '@sphereface/data';

/** How the features of an image and its horizontal mirror are combined; the paper concatenates. */
export type FlipFusion = 'none' | 'sum' | 'concat';

/**
 * Embeddings of aligned, normalised images [N,H,W,3] in batches: 'none' → f(x) [N,D]; 'sum' → f(x)+f(flip x) [N,D];
 * 'concat' → [f(x), f(flip x)] [N,2D] (SphereFace's 1024-D test feature).
 */
export function extractEmbeddings(backbone: tf.LayersModel, images: tf.Tensor4D, fusion: FlipFusion = 'concat', batchSize = 64): tf.Tensor2D {
  if (!['none', 'sum', 'concat'].includes(fusion)) throw new Error(`extractEmbeddings: fusion must be none|sum|concat, got '${fusion}'`);
  const n = images.shape[0];
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < n; start += batchSize) {
    parts.push(
      tf.tidy(() => {
        const x = tf.slice(images, [start, 0, 0, 0], [Math.min(batchSize, n - start), -1, -1, -1]);
        const f = backbone.predict(x) as tf.Tensor2D;
        if (fusion === 'none') return f;
        const g = backbone.predict(tf.reverse(x, 2)) as tf.Tensor2D;
        return fusion === 'sum' ? tf.add(f, g) : tf.concat([f, g], 1);
      }),
    );
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/**
 * LayersModel.predict's default batchSize: what extractEmbeddings' batches of 64 (and the earlier embedCrops' chunks
 * of 256) ran through the network as (predict slices its input into batches of 32 and concatenates the outputs).
 */
export const PREDICT_BATCH_SIZE = 32;

/** normalisePixel of every byte value, as @sphereface/data's assembleBatch looks them up. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => normalisePixel(v));

/**
 * Crops start … start+count−1 (their centre windows with a margin) normalised into `original` and, mirrored, into
 * `mirrored` ([count, H, W, 3] each): what assembleBatch writes with flips 0 and with flips 1 (the window cut first,
 * then mirrored), from one read of each crop.
 */
function assembleBoth(crops: CropSource, start: number, count: number, margin: number, original: Float32Array, mirrored: Float32Array): void {
  const height = crops.height - 2 * margin, row = (crops.width - 2 * margin) * 3;
  const crop = new Uint8Array(crops.height * crops.width * 3);
  for (let i = 0; i < count; i++) {
    crops.read(start + i, crop);
    for (let y = 0, o = i * height * row; y < height; y++, o += row) {
      const s = ((margin + y) * crops.width + margin) * 3;
      for (let x = 0, m = o + row - 3; x < row; x += 3, m -= 3) {
        const r = NORMALISED[crop[s + x]], g = NORMALISED[crop[s + x + 1]], b = NORMALISED[crop[s + x + 2]];
        original[o + x] = r;
        original[o + x + 1] = g;
        original[o + x + 2] = b;
        mirrored[m] = r;
        mirrored[m + 1] = g;
        mirrored[m + 2] = b;
      }
    }
  }
}

/**
 * Embeddings of the original and the mirrored crops (their centre windows with a margin), [N, D] each: how an
 * experiment run embeds LFW (experiments' lfwFeatures) and its training crops, and what step-bench's timeEmbedding
 * times. The same bits as extractEmbeddings(…, 'concat') on the normalised crops, with less work around the network:
 * the network runs the same batches (`batchSize` crops from the start: predict's 32 by default), each crop is read
 * once into its normalised and its mirrored row (no tf.reverse, tf.slice or tf.concat copies), the batch goes through
 * LayersModel.execute (predict without its batch slicing and output concatenation), and its features are read
 * straight into their rows.
 */
export function embedCrops(backbone: tf.LayersModel, crops: CropSource, opts: { margin?: number; batchSize?: number } = {}): { original: Float32Array; flipped: Float32Array; dim: number } {
  const { margin = 0, batchSize = PREDICT_BATCH_SIZE } = opts;
  const n = crops.count, height = crops.height - 2 * margin, width = crops.width - 2 * margin;
  if (backbone.outputs.length !== 1) throw new Error(`embedCrops: the backbone has ${backbone.outputs.length} outputs; one feature output is needed`);
  const [, h, w, c] = backbone.inputs[0].shape;
  if (h !== height || w !== width || c !== 3) throw new Error(`embedCrops: the backbone takes ${h}×${w}×${c} images; the crops are ${height}×${width}×3`);
  const output = backbone.outputs[0].name;
  let original = new Float32Array(0), flipped = new Float32Array(0), dim = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start), size = count * height * width * 3;
    const inputs = [new Float32Array(size), new Float32Array(size)];
    assembleBoth(crops, start, count, margin, inputs[0], inputs[1]);
    for (const [k, values] of inputs.entries()) {
      const f = tf.tidy(() => backbone.execute(tf.tensor4d(values, [count, height, width, 3]), output) as tf.Tensor2D);
      if (dim === 0) {
        dim = f.shape[1];
        [original, flipped] = [new Float32Array(n * dim), new Float32Array(n * dim)];
      }
      (k === 0 ? original : flipped).set(f.dataSync() as Float32Array, start * dim);
      f.dispose();
    }
  }
  return { original, flipped, dim };
}
