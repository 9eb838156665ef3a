/**
 * Training-step benchmark of the oneDNN 'native' backend against wasm (+ @sphereface/models' training kernels) and
 * PyTorch (Debian python3-torch, libs/models/scripts/bench_step_torch.py) in one run: SphereFace-4/-20 at 112×96 and
 * 56×48, batch 32, A-Softmax (m=4) head, the models' Trainer (Caffe SGD, momentum, weight decay, clipping).
 *
 *   npx tsx libs/native/scripts/bench-native.ts [--steps 3] [--warmup 1] [--classes 100] [--only sphereface4@112x96]
 *                                               [--no-wasm] [--no-torch] [--profile]
 *
 * FLOPs follow libs/models/scripts/bench-step.ts: conv / FC / classifier multiply-adds of forward + dX + dW (no dX for
 * conv1), 2 FLOP per MAC; element-wise work is not counted. Peak: see peak() below. --profile runs one extra step per
 * config under tf.profile on native and splits its wall time into oneDNN kernels, other (cpu) kernels by name, and
 * the rest (JS: tape, tidy, allocation).
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ArrayBatchProvider, createModel, marginHeadModel, selectBackend, SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL, Trainer, trainingStepFlops } from '@sphereface/models';
import { nativeKernelCalls, registerNativeBackend, NATIVE_BACKEND } from '../src/index';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const STEPS = Number(opt('steps', '3')), WARMUP = Number(opt('warmup', '1')), CLASSES = Number(opt('classes', '100')), BATCH = 32;
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = join(import.meta.dirname, '..', '..', 'models', 'scripts', 'bench_step_torch.py');
/** Kernels the addon runs (for the profile split). */
const ONEDNN_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul']);
/** Kernels the addon runs with its own OpenMP loops. */
const ADDON_LOOPS = new Set(['Prelu', 'SphereFaceNativePreluGrad', 'Add', 'Sub', 'Multiply', 'RealDiv', 'Square', 'Sum', SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL]);

/**
 * Peak FP32 of this machine: cores × 32 FLOP/cycle (two 256-bit FMA pipes × 8 lanes × 2 FLOP: Zen 2/3 with AVX2, and
 * Zen 4, which splits AVX-512 into 256-bit halves) × clock. The clock is the nominal TSC rate from /proc/cpuinfo's
 * bogomips / 2 (boost clocks, if the VM gets them, make the true peak higher and the fraction an upper bound).
 */
function peak(): { gflops: number; how: string } {
  const cpuinfo = existsSync('/proc/cpuinfo') ? spawnSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }).stdout : '';
  const bogo = Number(/bogomips\s*:\s*([\d.]+)/.exec(cpuinfo)?.[1] ?? NaN);
  const ghz = bogo / 2 / 1000, cores = availableParallelism();
  const flags = /flags\s*:(.*)/.exec(cpuinfo)?.[1] ?? '';
  const isa = flags.includes(' avx512f') ? 'AVX-512' : flags.includes(' avx2') ? 'AVX2' : 'SSE';
  return { gflops: cores * ghz * 32, how: `${cores} cores × ${ghz.toFixed(2)} GHz (bogomips/2) × 32 FLOP/cycle (2 FMA pipes × 8 fp32 lanes × 2; ${isa} + FMA)` };
}

interface Config { model: 'sphereface4' | 'sphereface20'; size: [number, number] }
const ALL: Config[] = [
  { model: 'sphereface4', size: [112, 96] },
  { model: 'sphereface4', size: [56, 48] },
  { model: 'sphereface20', size: [112, 96] },
  { model: 'sphereface20', size: [56, 48] },
];
const keyOf = (c: Config) => `${c.model}@${c.size.join('x')}`;
const CONFIGS = args.includes('--only') ? ALL.filter((c) => keyOf(c) === opt('only', '')) : ALL;
if (!CONFIGS.length) throw new Error(`bench-native: --only ${opt('only', '')} matches none of ${ALL.map(keyOf).join(', ')}`);

interface Row { backend: string; key: string; stepS: number; times: number[] }
const rows: Row[] = [];
const flopsOf = new Map<string, number>();
const profiles: string[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function setup(c: Config) {
  const backbone = createModel(c.model, { inputSize: c.size, seed: 1 });
  const { model: headModel } = marginHeadModel({ numClasses: CLASSES, loss: 'a-softmax', inputDim: 512, seed: 2 });
  const images = Float32Array.from({ length: BATCH * c.size[0] * c.size[1] * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
  const provider = new ArrayBatchProvider(images, labels, [...c.size, 3], CLASSES, 3);
  const trainer = new Trainer(backbone, headModel, provider, { batchSize: BATCH, maxIter: 1e9, mirror: false, progress: 'none' });
  flopsOf.set(keyOf(c), trainingStepFlops(backbone, CLASSES, BATCH));
  return { trainer, dispose: () => [trainer, backbone, headModel].forEach((m) => m.dispose()) };
}

async function profileStep(trainer: Trainer, key: string): Promise<void> {
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // the profiler would otherwise read every output back
  const callsBefore = nativeKernelCalls();
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    await trainer.step();
  });
  const wall = performance.now() - t0;
  const fallbacks = Object.entries(nativeKernelCalls())
    .map(([name, c]) => [name, c.fallback - (callsBefore[name]?.fallback ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const byName = new Map<string, { ms: number; n: number }>();
  // Names ending in '__op' are custom-gradient ops (fused conv/matmul) whose time includes their kernels': skipped.
  for (const k of info.kernels.filter((k) => !k.name.endsWith('__op'))) {
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += k.kernelTimeMs as number;
    e.n++;
    byName.set(k.name, e);
  }
  const kind = (n: string) => (ONEDNN_KERNELS.has(n) ? 'oneDNN' : ADDON_LOOPS.has(n) ? 'addon loop' : 'cpu (JS)');
  const sum = (k: string) => [...byName].filter(([n]) => kind(n) === k).reduce((s, [, e]) => s + e.ms, 0);
  const [onednn, loops, js] = [sum('oneDNN'), sum('addon loop'), sum('cpu (JS)')];
  const top = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(opt("top", "16")));
  profiles.push(
    `profile native ${key}: wall ${wall.toFixed(0)} ms (profiled step) = oneDNN kernels ${onednn.toFixed(0)} + addon element-wise ${loops.toFixed(0)}` +
      ` + cpu-backend JS kernels ${js.toFixed(0)} + outside kernels ${(wall - onednn - loops - js).toFixed(0)} ms (tape, tidy, allocation, data reads);` +
      ` ${info.kernels.length} kernel calls; handed to the cpu kernel: ${fallbacks.map(([n, k]) => `${n} ×${k}`).join(', ') || 'none'}\n` +
      top.map(([n, e]) => `    ${n.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  ×${e.n}  ${kind(n)}`).join('\n'),
  );
}

async function benchTfjs(label: string, c: Config, profile: boolean): Promise<void> {
  const { trainer, dispose } = setup(c);
  const times: number[] = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const r = await trainer.step();
    if (i >= WARMUP) times.push(r.stepSeconds);
  }
  if (profile) await profileStep(trainer, keyOf(c));
  rows.push({ backend: label, key: keyOf(c), stepS: median(times), times });
  console.error(`${label} ${keyOf(c)}: ${median(times).toFixed(3)} s/step (${times.map((t) => t.toFixed(2)).join(', ')})`);
  dispose();
}

function benchTorch(c: Config): void {
  if (!existsSync(PYTHON)) return void console.error(`torch: ${PYTHON} not found; skipped`);
  const spec = JSON.stringify({ configs: [c], batch: BATCH, classes: CLASSES, steps: Math.max(STEPS, 5), warmup: 5, threads: availableParallelism() });
  const res = spawnSync(PYTHON, [TORCH_SCRIPT, spec], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) return void console.error(`torch: skipped (${(res.stderr || res.error?.message || '').trim().split('\n').pop()})`);
  const r = JSON.parse(res.stdout.trim()) as { model: string; size: string; step_s: number; times: number[]; torch: string; blas: string };
  rows.push({ backend: `torch ${r.torch} (${availableParallelism()} threads, ${r.blas})`, key: `${r.model}@${r.size}`, stepS: r.step_s, times: r.times });
  console.error(`torch ${r.model}@${r.size}: ${r.step_s.toFixed(3)} s/step (${r.times.map((t) => t.toFixed(2)).join(', ')})`);
}

const native = registerNativeBackend();
const nativeLabel = `tfjs native (oneDNN ${native.dnnl}, ${native.threads} threads)`;
console.error(`native: oneDNN ${native.dnnl}, ${native.threads} threads`);
// Config by config, each backend in turn: the machine's load drifts over minutes, so the sides of each comparison
// are measured as close together as possible.
for (const c of CONFIGS) {
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error("bench-native: tf.setBackend('native') returned false");
  await benchTfjs(nativeLabel, c, args.includes('--profile'));
  if (!args.includes('--no-torch')) benchTorch(c);
  if (!args.includes('--no-wasm')) {
    const info = await selectBackend({ force: 'wasm', log: null });
    await benchTfjs(`tfjs wasm (SIMD ${info.wasm?.simd}, ${info.wasm?.threads} thread) + models kernels`, c, false);
  }
}

const { gflops: peakGflops, how } = peak();
console.log(`\nTraining step, batch ${BATCH}, A-Softmax m=4 over ${CLASSES} classes; tfjs: median of ${STEPS} after ${WARMUP} warm-up, torch: ${Math.max(STEPS, 5)} after 5`);
console.log(`peak ${peakGflops.toFixed(0)} GFLOP/s = ${how}\n`);
console.log('| backend | model | input | s/step | images/s | GFLOP/s | % of peak | × torch |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of [...rows].sort((p, q) => p.backend.localeCompare(q.backend))) {
  const torch = rows.find((t) => t.backend.startsWith('torch') && t.key === r.key);
  const gf = flopsOf.get(r.key)! / r.stepS / 1e9;
  const [model, size] = r.key.split('@');
  console.log(
    `| ${r.backend} | ${model} | ${size} | ${r.stepS.toFixed(3)} | ${(BATCH / r.stepS).toFixed(1)} | ${gf.toFixed(1)} | ${((100 * gf) / peakGflops).toFixed(1)} | ${torch ? (r.stepS / torch.stepS).toFixed(2) : 'n/a'} |`,
  );
}
for (const [k, f] of flopsOf) console.log(`FLOPs/step ${k}: ${(f / 1e9).toFixed(2)} GFLOP`);
if (profiles.length) console.log(`\n${profiles.join('\n')}`);
