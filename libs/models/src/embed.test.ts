import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { extractEmbeddings } from './embed';
import { createModel } from './sphereface';

describe('extractEmbeddings', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });

  it('none | sum | concat of the image and its mirror, batched, without leaks', () => {
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    const x = tf.randomNormal([5, 28, 24, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const none = extractEmbeddings(model, x, 'none', 2);
    const sum = extractEmbeddings(model, x, 'sum', 2);
    const concat = extractEmbeddings(model, x, 'concat', 3);
    expect(none.shape).toEqual([5, 512]);
    expect(sum.shape).toEqual([5, 512]);
    expect(concat.shape).toEqual([5, 1024]);
    const close = (a: tf.Tensor, b: tf.Tensor) => expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBeLessThan(1e-4);
    tf.tidy(() => {
      const flipped = model.predict(tf.reverse(x, 2)) as tf.Tensor;
      close(none, model.predict(x) as tf.Tensor);
      close(tf.slice(concat, [0, 0], [-1, 512]), none);
      close(tf.slice(concat, [0, 512], [-1, 512]), flipped);
      close(sum, tf.add(none, flipped));
    });
    tf.dispose([none, sum, concat]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => extractEmbeddings(model, x, 'mean' as never)).toThrow(/none\|sum\|concat/);
    x.dispose();
    model.dispose();
  });
});
