/**
 * webgpu on a real GPU, for the device script (scripts/device-webgpu.sh runs the bundle of this file):
 * 1. the correctness checks of src/webgpu.test.ts on this adapter (every kernel call of a training step, and
 *    3 Trainer steps, against the cpu backend, with the same tolerances);
 * 2. the training-step benchmark, SphereFace-4 and SphereFace-20 at 112×96, batch 32 and 128, A-Softmax m = 4 over
 *    100 classes, on webgpu, and the same network in PyTorch (scripts/bench_step_torch.py, device cuda) for the ratio.
 *
 *   npx tsx libs/models/scripts/bench-webgpu.ts [--out DIR] [--steps 5] [--warmup 2] [--python python3]
 *     [--torch-script PATH (default: bench_step_torch.py beside this file)] [--no-torch] [--no-check]
 *     [--models sphereface4,sphereface20] [--batches 32,128] [--size 112x96] (smaller for a smoke run on SwiftShader)
 *
 * Writes webgpu-check.json and webgpu-bench.json to --out (default: the current folder); exits 1 when a check failed.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArrayBatchProvider } from '../src/array-provider';
import { selectBackend } from '../src/backend';
import { trainingStepFlops } from '../src/flops';
import { marginHeadModel } from '../src/margin-head';
import { createModel } from '../src/sphereface';
import { checkTrainingKernels, checkTrainingSteps, KERNEL_SETUP, TRAIN_SETUP } from '../src/testing/webgpu-check';
import { Trainer } from '../src/trainer';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const OUT = opt('out', '.'), STEPS = Number(opt('steps', '5')), WARMUP = Number(opt('warmup', '2')), PYTHON = opt('python', 'python3');
const TORCH_SCRIPT = opt('torch-script', join(import.meta.dirname, 'bench_step_torch.py'));
const CLASSES = 100, SIZE = opt('size', '112x96').split('x').map(Number) as [number, number];
const CONFIGS = opt('models', 'sphereface4,sphereface20').split(',').flatMap((model) => opt('batches', '32,128').split(',').map((b) => ({ model, batch: Number(b) })));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (line: string) => console.log(line);

const info = await selectBackend({ force: 'webgpu', log });
if (info.webgpu!.software) log(`warning: '${info.webgpu!.adapter.description}' is a software adapter: the timings are not a GPU's`);
let failed = false;

if (!args.includes('--no-check')) {
  const kernels = await checkTrainingKernels();
  log(`\nkernel check (${KERNEL_SETUP}): ${kernels.calls} calls of ${kernels.kernels.length} kernels, ${kernels.failures.length} failures, ${kernels.leaked} tensors leaked`);
  for (const [k, e] of kernels.worst) log(`  ${k}: max |Δ| ${e.abs.toExponential(2)}, relative ${e.rel.toExponential(2)}`);
  for (const f of kernels.failures) log(`  FAIL ${f}`);
  const steps = await checkTrainingSteps();
  const worst = steps.weights.reduce((a, b) => (b.rel > a.rel ? b : a));
  log(`training check (${TRAIN_SETUP}): losses ${steps.losses.webgpu.join(', ')} vs cpu ${steps.losses.cpu.join(', ')} (${steps.lossErr.toExponential(2)} relative); worst weight ${worst.name} ${worst.rel.toExponential(2)}`);
  for (const f of steps.failures) log(`  FAIL ${f}`);
  failed = kernels.failures.length > 0 || kernels.leaked !== 0 || steps.failures.length > 0;
  writeFileSync(join(OUT, 'webgpu-check.json'), JSON.stringify({ backend: info, kernels: { ...kernels, worst: Object.fromEntries(kernels.worst) }, steps }, null, 1));
  await selectBackend({ force: 'webgpu', log: null });
}

interface Row { backend: string; model: string; batch: number; stepS: number; times: number[]; flops: number }
const rows: Row[] = [];

for (const { model, batch } of CONFIGS) {
  const backbone = createModel(model, { inputSize: SIZE, seed: 1 });
  const { model: head } = marginHeadModel({ numClasses: CLASSES, loss: 'a-softmax', inputDim: 512, seed: 2 });
  const images = Float32Array.from({ length: batch * SIZE[0] * SIZE[1] * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: batch }, (_, i) => i % CLASSES);
  const trainer = new Trainer(backbone, head, new ArrayBatchProvider(images, labels, [...SIZE, 3], CLASSES, 3), {
    batchSize: batch, maxIter: 1e9, mirror: false, progress: 'none',
  });
  const times: number[] = [];
  // stepSeconds ends after the step's metrics are read back, so it includes the GPU work.
  for (let i = 0; i < WARMUP + STEPS; i++) times.push((await trainer.step()).stepSeconds);
  const row = { backend: `tfjs webgpu (${info.webgpu!.adapter.description || info.webgpu!.adapter.vendor})`, model, batch, stepS: median(times.slice(WARMUP)), times, flops: trainingStepFlops(backbone, CLASSES, batch) };
  rows.push(row);
  log(`webgpu ${model} batch ${batch}: ${row.stepS.toFixed(4)} s/step (all steps: ${times.map((t) => t.toFixed(3)).join(', ')})`);
  [trainer, backbone, head].forEach((x) => x.dispose());
}

if (!args.includes('--no-torch')) {
  for (const { model, batch } of CONFIGS) {
    const spec = { configs: [{ model, size: SIZE }], batch, classes: CLASSES, steps: Math.max(STEPS, 10), warmup: 5, threads: 16, device: 'cuda' };
    const res = spawnSync(PYTHON, [TORCH_SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (res.status !== 0) {
      log(`torch ${model} batch ${batch}: failed (${(res.stderr || res.error?.message || '').trim().split('\n').pop()})`);
      continue;
    }
    const r = JSON.parse(res.stdout.trim()) as { step_s: number; times: number[]; torch: string; device: string };
    const flops = rows.find((w) => w.model === model && w.batch === batch)!.flops;
    rows.push({ backend: `torch ${r.torch} (${r.device})`, model, batch, stepS: r.step_s, times: r.times, flops });
    log(`torch ${model} batch ${batch}: ${r.step_s.toFixed(4)} s/step`);
  }
}

const torchOf = (r: Row) => rows.find((t) => t.backend.startsWith('torch') && t.model === r.model && t.batch === r.batch);
log(`\nTraining step at ${SIZE.join('×')}, A-Softmax m=4 over ${CLASSES} classes, median of ${STEPS} after ${WARMUP} warm-up (torch: ${Math.max(STEPS, 10)} after 5)\n`);
log('| backend | model | batch | s/step | images/s | GFLOP/s | × torch |');
log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const t = torchOf(r);
  log(`| ${r.backend} | ${r.model} | ${r.batch} | ${r.stepS.toFixed(4)} | ${(r.batch / r.stepS).toFixed(1)} | ${(r.flops / r.stepS / 1e9).toFixed(0)} | ${t ? (r.stepS / t.stepS).toFixed(2) : 'n/a'} |`);
}
writeFileSync(join(OUT, 'webgpu-bench.json'), JSON.stringify({ backend: info, rows }, null, 1));
if (failed) {
  log('\nwebgpu check FAILED (see FAIL lines above)');
  process.exitCode = 1;
}
