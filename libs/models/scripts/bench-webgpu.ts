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
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../src/backend';
import { stepBenchKey, timeTorchSteps, timeTrainingSteps, type StepBenchConfig } from '../src/step-bench';
import { checkTrainingKernels, checkTrainingSteps, KERNEL_SETUP, TRAIN_SETUP } from '../src/testing/webgpu-check';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const OUT = opt('out', '.'), STEPS = Number(opt('steps', '5')), WARMUP = Number(opt('warmup', '2')), PYTHON = opt('python', 'python3');
const TORCH_SCRIPT = args.includes('--torch-script') ? opt('torch-script', '') : undefined; // default: the models' bench_step_torch.py
const CLASSES = 100, SIZE = opt('size', '112x96').split('x').map(Number) as [number, number];
const CONFIGS: StepBenchConfig[] = opt('models', 'sphereface4,sphereface20').split(',').flatMap((model) =>
  opt('batches', '32,128').split(',').map((b) => ({ model, size: SIZE, batch: Number(b), classes: CLASSES })),
);
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

for (const c of CONFIGS) {
  const t = await timeTrainingSteps(c, { warmup: WARMUP, steps: STEPS });
  const row = { backend: `tfjs webgpu (${info.webgpu!.adapter.description || info.webgpu!.adapter.vendor})`, model: c.model, batch: c.batch, ...t };
  rows.push(row);
  log(`webgpu ${stepBenchKey(c)}: ${row.stepS.toFixed(4)} s/step (timed steps: ${t.times.map((x) => x.toFixed(3)).join(', ')})`);
}

if (!args.includes('--no-torch')) {
  for (const c of CONFIGS) {
    const r = timeTorchSteps(c, { python: PYTHON, script: TORCH_SCRIPT, steps: Math.max(STEPS, 10), warmup: 5, threads: 16, device: 'cuda' });
    if (typeof r === 'string') {
      log(`torch ${stepBenchKey(c)}: failed (${r})`);
      continue;
    }
    const flops = rows.find((w) => w.model === c.model && w.batch === c.batch)!.flops;
    rows.push({ backend: r.label, model: c.model, batch: c.batch, stepS: r.stepS, times: r.times, flops });
    log(`${r.label} ${stepBenchKey(c)}: ${r.stepS.toFixed(4)} s/step`);
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
