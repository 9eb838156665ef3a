import { MARGIN_SOFTMAX_KERNEL, mulberry32, type MarginSoftmaxSpec } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { registerNativeBackend } from './backend';
import { encodeMarginSoftmaxSpec } from './margin-softmax-kernel';
import { describeNative, randArray } from './testing/native';

// The numerics (every loss against float64 references, gradients included) are tested where the losses live, in
// @sphereface/loss's fused.test.ts; this file checks the kernel's contract: inputs, outputs, errors.

const N = 5, D = 4, C = 3;
const A_SOFTMAX: MarginSoftmaxSpec = { scale: 'feature', target: { kind: 'psi', m: 4, lambda: 5 } };

function run(spec: MarginSoftmaxSpec, labels: number[], options: { bias?: boolean; floatLabels?: boolean; d?: number } = {}): tf.Tensor[] {
  const rng = mulberry32(3), d = options.d ?? D;
  const inputs: tf.NamedTensorMap = {
    x: tf.tensor2d(randArray(rng, N * D), [N, D]),
    w: tf.tensor2d(randArray(rng, d * C), [d, C]),
    labels: tf.tensor1d(labels, options.floatLabels ? 'float32' : 'int32'),
  };
  if (options.bias) inputs.bias = tf.tensor1d(randArray(rng, C));
  try {
    return tf.engine().runKernel(MARGIN_SOFTMAX_KERNEL, inputs, spec as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

describeNative('the fused margin-softmax kernel', () => {
  beforeAll(async () => {
    registerNativeBackend();
    expect(await tf.setBackend('native')).toBe(true);
  });

  it("is registered on 'native' only (other backends run @sphereface/loss's tfjs ops)", () => {
    expect(tf.getKernel(MARGIN_SOFTMAX_KERNEL, 'native')).toBeDefined();
    expect(tf.getKernel(MARGIN_SOFTMAX_KERNEL, 'cpu')).toBeUndefined();
  });

  it('outputs loss, accuracy, mean angle, mean norm, dx, dW and, with a bias, db', () => {
    const before = tf.memory().numTensors;
    const plain = run(A_SOFTMAX, [0, 1, 2, 0, 1]);
    expect(plain.map((t) => t.shape)).toEqual([[], [], [], [], [N, D], [D, C]]);
    const biased = run({ scale: 'linear', target: { kind: 'none' } }, [0, 1, 2, 0, 1], { bias: true });
    expect(biased.map((t) => t.shape)).toEqual([[], [], [], [], [N, D], [D, C], [C]]);
    for (const t of [...plain, ...biased]) expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
    const [, accuracy, angle, norm] = plain.map((t) => t.dataSync()[0]);
    expect(accuracy * N).toBeCloseTo(Math.round(accuracy * N), 5);
    expect(angle).toBeGreaterThan(0);
    expect(angle).toBeLessThan(180);
    expect(norm).toBeGreaterThan(0);
    tf.dispose([...plain, ...biased]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects labels outside [0, C) with a RangeError naming the row and the label, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    expect(() => run(A_SOFTMAX, [0, 1, 2, 3, 1])).toThrow(RangeError);
    expect(() => run(A_SOFTMAX, [0, 1, 2, 3, 1])).toThrow(`label 3 at row 3 is outside [0, ${C})`);
    expect(() => run(A_SOFTMAX, [0, -7, 2, 0, 1])).toThrow('label -7 at row 1');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects malformed inputs and specs, naming the problem', () => {
    expect(() => run(A_SOFTMAX, [0, 1, 2, 0, 1], { floatLabels: true })).toThrow(/int32 labels/);
    expect(() => run(A_SOFTMAX, [0, 1, 2, 0, 1], { d: D + 1 })).toThrow(/x \[5,4\] float32, w \[5,3\]/);
    expect(() => run({ scale: 'fixed', s: 30, target: { kind: 'psi', m: 4, lambda: 1 }, gradient: 'caffe' }, [0, 1, 2, 0, 1])).toThrow(/caffe gradient/);
    expect(() => run({ scale: 'fixed', target: { kind: 'none' } }, [0, 1, 2, 0, 1])).toThrow(/s > 0/);
    expect(() => run({ scale: 'feature', target: { kind: 'psi', m: 2.5, lambda: 1 } }, [0, 1, 2, 0, 1])).toThrow(/integer m/);
    expect(() => run({ scale: 'linear', target: { kind: 'cosine', m: 0.3 } }, [0, 1, 2, 0, 1])).toThrow(/no target term/);
    expect(() => run({ scale: 'feature', target: { kind: 'none' } }, [0, 1, 2, 0, 1], { bias: true })).toThrow(/only the linear scale takes a bias/);
    expect(() => encodeMarginSoftmaxSpec({ scale: 'feature', target: { kind: 'sphere' } } as unknown as MarginSoftmaxSpec)).toThrow(/unknown target 'sphere'/);
  });
});
