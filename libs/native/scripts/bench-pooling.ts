/**
 * Inference benchmark of the native backend's ReLU and pooling kernels (src/pooling-kernels.ts) on a small
 * ResNet-style tfjs-layers model at 150×150×3: conv 7×7/2 (64) + ReLU + max pool 3×3/2, four residual blocks (two of
 * 64 channels at 38×38, two of 128 at 19×19, each conv → ReLU → conv, + shortcut, ReLU), average pool 3×3/2, dense 128.
 * ReLUs are layers of their own, as after the batch norms of a published ResNet (a conv's own 'relu' would be fused
 * into it).
 *
 *   npx tsx libs/native/scripts/bench-pooling.ts [--batch 8] [--reps 5] [--warmup 2]     (from the repository root)
 *
 * Times model.predict on three backends, in turns: 'cpu'; 'native' with the cpu's Relu/Step/pooling kernels put back
 * (the native backend as it was before these kernels); 'native'. Prints ms per image of predict (median of --reps)
 * and of each kernel (tf.profile of one more predict), the speed-ups, the largest difference of the predictions from
 * cpu's, and os.loadavg() before and after (the machine is shared: a load above the core count inflates every figure).
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism, loadavg } from 'node:os';
import { nativeKernelCalls, registerNativeBackend, NATIVE_BACKEND } from '../src/index';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return Number(i >= 0 ? args[i + 1] : dflt);
};
const BATCH = opt('batch', '8'), REPS = opt('reps', '5'), WARMUP = opt('warmup', '2');
/** What src/pooling-kernels.ts registers (the gradients do not run in predict). */
const NEW_KERNELS = ['Relu', 'Relu6', 'Step', 'MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad'];
const SHOWN = ['Conv2D', 'FusedConv2D', 'Relu', 'MaxPool', 'AvgPool', 'Add', '_FusedMatMul', 'Reshape'];

function resnetish(): tf.LayersModel {
  const input = tf.input({ shape: [150, 150, 3] });
  let seed = 1;
  const conv = (x: tf.SymbolicTensor, filters: number, kernel: number, strides: number) =>
    tf.layers.conv2d({ filters, kernelSize: kernel, strides, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: seed++ }) }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  let x = relu(conv(input, 64, 7, 2)); // 75×75×64
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor; // 38×38×64
  for (const [filters, strides] of [[64, 1], [64, 1], [128, 2], [128, 1]]) {
    const shortcut = strides === 1 && x.shape[3] === filters ? x : conv(x, filters, 1, strides);
    const y = conv(relu(conv(x, filters, 3, strides)), filters, 3, 1);
    x = relu(tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor);
  }
  x = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor; // 9×9×128
  const out = tf.layers.dense({ units: 128 }).apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Puts the cpu backend's kernels for NEW_KERNELS on 'native' (or back the native ones); returns the undo. */
function useCpuKernels(): () => void {
  const saved = NEW_KERNELS.map((name) => tf.getKernel(name, NATIVE_BACKEND)!);
  for (const name of NEW_KERNELS) {
    tf.unregisterKernel(name, NATIVE_BACKEND);
    tf.registerKernel({ ...tf.getKernel(name, 'cpu')!, backendName: NATIVE_BACKEND });
  }
  return () => {
    for (const k of saved) {
      tf.unregisterKernel(k.kernelName, NATIVE_BACKEND);
      tf.registerKernel(k);
    }
  };
}

interface Result { label: string; msPerImage: number; kernels: Map<string, number>; prediction: Float32Array }

async function measure(label: string, backend: string, model: tf.LayersModel, x: tf.Tensor): Promise<Result> {
  if (!(await tf.setBackend(backend))) throw new Error(`setBackend(${backend}) failed`);
  const input = tf.tensor(x.dataSync(), x.shape); // on this backend
  const predict = () => tf.tidy(() => (model.predict(input) as tf.Tensor).dataSync());
  for (let i = 0; i < WARMUP; i++) predict();
  const times: number[] = [];
  let prediction = new Float32Array();
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    prediction = Float32Array.from(predict());
    times.push(performance.now() - t0);
  }
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // the profiler would otherwise read every output back
  const info = await tf.profile(() => {
    predict();
  });
  const kernels = new Map<string, number>();
  // Names ending in '__op' are custom-gradient ops (fused conv/matmul) whose time includes their kernels': skipped.
  for (const k of info.kernels.filter((k) => !k.name.endsWith('__op'))) kernels.set(k.name, (kernels.get(k.name) ?? 0) + (k.kernelTimeMs as number) / BATCH);
  input.dispose();
  times.sort((a, b) => a - b);
  return { label, msPerImage: times[Math.floor(times.length / 2)] / BATCH, kernels, prediction };
}

const load0 = loadavg();
const info = registerNativeBackend();
const model = resnetish();
const x = tf.randomUniform([BATCH, 150, 150, 3], 0, 1, 'float32', 42);
const callsBefore = nativeKernelCalls();
const cpu = await measure('cpu', 'cpu', model, x);
const undo = useCpuKernels();
const before = await measure('native, cpu ReLU/pooling', NATIVE_BACKEND, model, x);
undo();
const after = await measure('native', NATIVE_BACKEND, model, x);
const calls = nativeKernelCalls();
const load1 = loadavg();

const fmt = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(2)).padStart(9);
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(1)}×` : '—').padStart(8);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const scale = cpu.prediction.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

console.log(`bench-pooling: ResNet-style model at 150×150×3, batch ${BATCH}, median of ${REPS} predicts after ${WARMUP} warm-up;` +
  ` native: oneDNN ${info.dnnl}, ${info.threads} threads; ${availableParallelism()} cores`);
console.log(`load average (1, 5, 15 min): before ${load0.map((l) => l.toFixed(2)).join(', ')}; after ${load1.map((l) => l.toFixed(2)).join(', ')}`);
console.log(`\nms per image${' '.repeat(14)}${[cpu, before, after].map((r) => r.label.padStart(26)).join('')}   cpu/native  before/native`);
const row = (name: string, get: (r: Result) => number | undefined) =>
  console.log(`${name.padEnd(26)}${[cpu, before, after].map((r) => fmt(get(r)).padStart(26)).join('')}${ratio(get(cpu), get(after)).padStart(13)}${ratio(get(before), get(after)).padStart(15)}`);
row('predict (wall)', (r) => r.msPerImage);
for (const k of SHOWN) if (cpu.kernels.has(k) || after.kernels.has(k)) row(`  ${k}`, (r) => r.kernels.get(k));
const other = (r: Result) => [...r.kernels].filter(([k]) => !SHOWN.includes(k)).reduce((s, [, v]) => s + v, 0);
row('  other kernels', other);
console.log(`\nprediction vs cpu: max |Δ| / max |cpu| = ${(maxDiff(before.prediction, cpu.prediction) / scale).toExponential(2)} (native, cpu ReLU/pooling),` +
  ` ${(maxDiff(after.prediction, cpu.prediction) / scale).toExponential(2)} (native)`);
console.log(`addon calls in the native run (native / cpu fallback): ${NEW_KERNELS.filter((k) => calls[k].native > callsBefore[k].native || calls[k].fallback > callsBefore[k].fallback)
  .map((k) => `${k} ${calls[k].native - callsBefore[k].native}/${calls[k].fallback - callsBefore[k].fallback}`).join(', ')}`);
