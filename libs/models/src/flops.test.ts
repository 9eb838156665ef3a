import { describe, expect, it } from 'vitest';
import { trainingStepFlops } from './flops';
import { createModel } from './sphereface';

describe('trainingStepFlops', () => {
  it('SphereFace-4, 112×96, batch 32, 100 classes: 31.26 GFLOP (the toolchain notes’ hand count)', () => {
    const backbone = createModel('sphereface4', { inputSize: [112, 96] });
    expect(trainingStepFlops(backbone, 100, 32) / 1e9).toBeCloseTo(31.26, 2);
    // Linear in the batch, and the classifier adds 3·512·C multiply-adds per image.
    expect(trainingStepFlops(backbone, 100, 64)).toBe(2 * trainingStepFlops(backbone, 100, 32));
    expect(trainingStepFlops(backbone, 101, 1) - trainingStepFlops(backbone, 100, 1)).toBe(2 * 3 * 512);
    backbone.dispose();
  });
});
