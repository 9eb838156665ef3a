/**
 * Training-step benchmark: SphereFace-4/-20 at 112×96 and 56×48, batch 32, A-Softmax (m=4) head, Caffe SGD,
 * on every available tfjs backend, next to PyTorch (Debian python3-torch) on the same net and head.
 *
 *   npx tsx libs/models/scripts/bench-step.ts [--steps 3] [--warmup 1] [--classes 100] [--no-torch] [--no-cpu]
 *
 * GFLOP/s counts the convolution / FC / classifier multiply-adds of forward + dX + dW (no dX for conv1), 2 FLOP
 * per MAC; element-wise work (PReLU, adds, the loss) is not counted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ArrayBatchProvider } from '../src/array-provider';
import { selectBackend, type BackendChoice } from '../src/backend';
import { marginHeadModel } from '../src/margin-head';
import { createModel } from '../src/sphereface';
import { trainingStepFlops } from '../src/flops';
import { Trainer } from '../src/trainer';
import { registerConvGradientKernels } from '../src/wasm-kernels';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const STEPS = opt('steps', 3), WARMUP = opt('warmup', 1), CLASSES = opt('classes', 100), BATCH = 32;
const PYTHON = '/usr/bin/python3';

interface Config { model: 'sphereface4' | 'sphereface20'; size: [number, number] }
const CONFIGS: Config[] = [
  { model: 'sphereface4', size: [112, 96] },
  { model: 'sphereface4', size: [56, 48] },
  { model: 'sphereface20', size: [112, 96] },
  { model: 'sphereface20', size: [56, 48] },
];
// The stock-structured cpu backend is ~20× slower than wasm: one small config only.
const CPU_CONFIGS = args.includes('--no-cpu') ? [] : [CONFIGS[1]];

interface Row { backend: string; model: string; size: string; stepS: number; ips: number; load: number }
const rows: Row[] = [];
const flopsOf = new Map<string, number>();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchTfjs(label: string, c: Config, warmup = WARMUP, steps = STEPS): Promise<void> {
  const key = `${c.model}@${c.size.join('x')}`;
  const backbone = createModel(c.model, { inputSize: c.size, seed: 1 });
  const { model: headModel } = marginHeadModel({ numClasses: CLASSES, loss: 'a-softmax', inputDim: 512, seed: 2 });
  const images = Float32Array.from({ length: BATCH * c.size[0] * c.size[1] * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
  const provider = new ArrayBatchProvider(images, labels, [...c.size, 3], CLASSES, 3);
  const trainer = new Trainer(backbone, headModel, provider, { batchSize: BATCH, maxIter: 1e9, mirror: false, progress: 'none' });
  const flops = trainingStepFlops(backbone, CLASSES, BATCH);
  flopsOf.set(key, flops);
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const r = await trainer.step();
    if (i >= warmup) times.push(r.stepSeconds);
  }
  const stepS = median(times);
  rows.push({ backend: label, model: c.model, size: c.size.join('x'), stepS, ips: BATCH / stepS, load: loadavg()[0] });
  console.error(`${label} ${key}: ${stepS.toFixed(3)} s/step (${times.map((t) => t.toFixed(2)).join(', ')})`);
  trainer.dispose();
  backbone.dispose();
  headModel.dispose();
}

function benchTorch(c: Config): void {
  const script = join(import.meta.dirname, 'bench_step_torch.py');
  const spec = JSON.stringify({ configs: [c], batch: BATCH, classes: CLASSES, steps: Math.max(STEPS, 5), warmup: 5, threads: 2 });
  const res = spawnSync(PYTHON, [script, spec], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) {
    console.error(`torch: skipped (${(res.stderr || res.error?.message || '').trim().split('\n').pop()})`);
    return;
  }
  const r = JSON.parse(res.stdout.trim()) as { model: string; size: string; step_s: number; times: number[]; torch: string; blas: string };
  rows.push({ backend: `torch ${r.torch} (2 threads, ${r.blas})`, model: r.model, size: r.size, stepS: r.step_s, ips: BATCH / r.step_s, load: loadavg()[0] });
  console.error(`torch ${r.model}@${r.size}: ${r.step_s.toFixed(3)} s/step (${r.times.map((t) => t.toFixed(2)).join(', ')})`);
}

// Which tfjs backends exist here (a forced choice throws when it cannot be activated).
const available: { choice: BackendChoice; label: string }[] = [];
for (const choice of ['node-gpu', 'node', 'wasm'] as BackendChoice[]) {
  try {
    const info = await selectBackend({ force: choice, log: console.error });
    available.push({ choice, label: choice === 'wasm' ? `tfjs wasm (SIMD ${info.wasm?.simd}, ${info.wasm?.threads} thread) + kernels` : `tfjs ${choice}` });
  } catch (e) {
    console.error(`${choice}: unavailable (${(e as Error).message.split('\n')[0]})`);
  }
}
const withTorch = !args.includes('--no-torch') && existsSync(PYTHON);
if (!withTorch) console.error(`torch: not run (${args.includes('--no-torch') ? '--no-torch' : `${PYTHON} not found`})`);

// Config by config, torch right before the tfjs runs, so that both see similar load on a shared machine.
for (const c of CONFIGS) {
  if (withTorch) benchTorch(c);
  for (const { choice, label } of available) {
    await selectBackend({ force: choice, log: null });
    await benchTfjs(label, c);
  }
  if (CPU_CONFIGS.includes(c)) {
    await selectBackend({ force: 'cpu', log: null });
    registerConvGradientKernels('cpu');
    // One step: the cpu backend has no per-shape compilation to warm up, and each step takes tens of seconds.
    await benchTfjs('tfjs cpu + conv-gradient kernels (1 step)', c, 0, 1);
  }
}

const torchOf = (r: Row) => rows.find((t) => t.backend.startsWith('torch') && t.model === r.model && t.size === r.size);
console.log(`\nTraining step, batch ${BATCH}, A-Softmax m=4 over ${CLASSES} classes, median of ${STEPS} after ${WARMUP} warm-up (torch: 5 after 5)\n`);
console.log('| backend | model | input | s/step | images/s | GFLOP/s | × torch | load avg |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const t = torchOf(r);
  const flops = flopsOf.get(`${r.model}@${r.size}`);
  console.log(`| ${r.backend} | ${r.model} | ${r.size} | ${r.stepS.toFixed(3)} | ${r.ips.toFixed(1)} | ${flops ? (flops / r.stepS / 1e9).toFixed(1) : 'n/a'} | ${t ? (r.stepS / t.stepS).toFixed(2) : 'n/a'} | ${r.load.toFixed(1)} |`);
}
console.log(`(load avg: 1-minute load average of this ${cpus().length}-core machine after each measurement; the machine is shared)`);
for (const [k, f] of flopsOf) console.log(`FLOPs/step ${k}: ${(f / 1e9).toFixed(2)} GFLOP`);
