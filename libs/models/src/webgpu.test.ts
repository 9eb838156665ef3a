import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { describeWebGpu, webgpuAdapter } from './testing/webgpu';
import { checkTrainingKernels, checkTrainingSteps, KERNEL_SETUP, KERNEL_TOL, TRAIN_SETUP, TRAIN_STEPS, TRAIN_TOL } from './testing/webgpu-check';

describeWebGpu('webgpu (Dawn) against the cpu backend', () => {
  afterAll(() => tf.removeBackend('webgpu'));

  it('forced selection records the adapter, its limits and whether it is a software one', async () => {
    const info = await selectBackend({ force: 'webgpu', log: null });
    expect(info).toMatchObject({ choice: 'webgpu', tfBackend: 'webgpu', forced: true, gpu: !webgpuAdapter!.software });
    expect(info.webgpu).toEqual(webgpuAdapter);
    expect(info.webgpu!.adapter.vendor).not.toBe('');
    for (const [k, v] of Object.entries(info.webgpu!.limits)) expect(v, k).toBeGreaterThan(0);
    expect(info.versions).toMatchObject({ 'tfjs-backend-webgpu': '4.22.0', webgpu: '0.6.2' });
    if (webgpuAdapter!.software) {
      // Automatic selection never takes a software adapter, and says so.
      const auto = await selectBackend({ log: null });
      expect(auto.choice).not.toBe('webgpu');
      expect(auto.skipped.webgpu).toMatch(/^webgpu: software adapter '.+' \(.+\) is used only when webgpu is forced$/);
    }
  });

  it('AddN sums more inputs than one shader can bind (the stock kernel drops the whole command buffer)', async () => {
    await selectBackend({ force: 'webgpu', log: null });
    const n = 20; // > 7 = the default 8 storage buffers per stage − the output
    const terms = Array.from({ length: n }, (_, i) => tf.tensor1d([i, -2 * i, 0.5]));
    const sum = tf.addN(terms);
    expect(Array.from(await sum.data())).toEqual([190, -380, 10]);
    tf.dispose([...terms, sum]);
  });

  it(`every kernel of a training step (${KERNEL_SETUP}) matches cpu within ${KERNEL_TOL} (integers exactly)`, async () => {
    const r = await checkTrainingKernels();
    // The step ran the net, its gradients and the loss (incl. the AddN of ψ's 16 uses of cos θ, webgpu-kernels.ts).
    const names = ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', '_FusedMatMul', 'BatchMatMul', 'Prelu', 'Step', 'Mod', 'AddN'];
    expect(r.kernels).toEqual(expect.arrayContaining(names));
    expect(r.failures).toEqual([]);
    expect(r.leaked, 'replays leak no tensors').toBe(0);
    console.log(
      `[webgpu] ${r.calls} kernel calls, ${r.kernels.length} kernels; worst error per kernel (max |Δ| / relative to max |cpu|):\n` +
        [...r.worst].map(([k, e]) => `  ${k}: ${e.abs.toExponential(2)} / ${e.rel.toExponential(2)}`).join('\n'),
    );
  });

  it(`${TRAIN_STEPS} Trainer steps (${TRAIN_SETUP}) agree with cpu within ${TRAIN_TOL} in loss and every weight`, async () => {
    const r = await checkTrainingSteps();
    expect(r.failures).toEqual([]);
    expect(r.losses.cpu[TRAIN_STEPS - 1], 'the steps train').toBeLessThan(r.losses.cpu[0]);
    const worst = r.weights.reduce((a, b) => (b.rel > a.rel ? b : a));
    console.log(
      `[webgpu] losses ${r.losses.webgpu.join(', ')} (cpu ${r.losses.cpu.join(', ')}): ${r.lossErr.toExponential(2)} relative; ` +
        `worst weight ${worst.name}: ${worst.abs.toExponential(2)} / ${worst.rel.toExponential(2)}`,
    );
  });
});
