import * as tf from '@tensorflow/tfjs';

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
