import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SphereConv2D } from './layers';
import { createModel } from './sphereface';

describe('SphereConv2D gradient', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives the gradients of tf.fused.conv2d (x, filter, bias; strides 1 and 2), bit for bit', () => {
    for (const strides of [1, 2]) {
      const layer = new SphereConv2D({ filters: 5, strides, init: 'xavier', biasTrainable: true, seed: 3 });
      const x = tf.variable(tf.randomNormal([2, 7, 6, 4], 0, 1, 'float32', 1));
      const r = tf.randomNormal((layer.apply(x) as tf.Tensor).shape, 0, 1, 'float32', 4);
      const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      bias.assign(tf.randomNormal([5], 0, 1, 'float32', 2)); // a zero bias would hide a wrong bias path
      const vars = [x, kernel, bias];
      const ours = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)), vars).grads;
      const pad: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
      const stock = tf.variableGrads(() => tf.sum(tf.mul(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel as tf.Tensor4D, bias, strides, pad }), r)), vars).grads;
      for (const v of vars) expect(Array.from(ours[v.name].dataSync()), `${v.name}, strides ${strides}`).toEqual(Array.from(stock[v.name].dataSync()));
      tf.dispose([x, r, ...Object.values(ours), ...Object.values(stock)]);
      layer.dispose();
    }
  });

  it('does not compute the gradient of the input image: one Conv2DBackpropInput fewer than convolutions', async () => {
    const model = createModel('sphereface4', { inputSize: [28, 24], widthMultiplier: 0.125, seed: 1 });
    const x = tf.randomNormal([2, 28, 24, 3]);
    const profile = await tf.profile(() => tf.variableGrads(() => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar).value);
    const count = (name: string) => profile.kernels.filter((k) => k.name === name).length;
    expect(count('FusedConv2D')).toBe(4);
    expect(count('Conv2DBackpropFilter')).toBe(4);
    expect(count('Conv2DBackpropInput')).toBe(3);
    x.dispose();
    model.dispose();
  });
});
