/**
 * Training-step benchmark of the oneDNN 'native' backend against wasm (+ @sphereface/models' training kernels) and
 * PyTorch (Debian python3-torch) in one run, with @sphereface/models' step benchmark (src/step-bench.ts):
 * SphereFace-4/-20 at 112×96 and 56×48, batch 32, and the cpu profile's SphereFace-4 ×0.25 at 56×48, batch 64;
 * A-Softmax (m=4) head, the models' Trainer (Caffe SGD, momentum, weight decay, clipping).
 *
 *   npx tsx libs/models/scripts/bench-native.ts [--steps 3] [--warmup 1] [--only sphereface4@112x96/b32]
 *                                               [--no-wasm] [--no-torch] [--profile] [--top 16]
 *
 * FLOPs: conv / FC / classifier multiply-adds of forward + dX + dW (no dX for conv1), 2 FLOP per MAC (trainingStepFlops);
 * element-wise work is not counted. Peak: see peak() below. --profile runs one extra step per config under tf.profile
 * on native and splits its wall time into oneDNN kernels, the addon's loops, other (cpu) kernels by name, and the rest
 * (JS: tape, tidy, allocation).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { selectBackend, type Trainer } from '../src/index';
import {
  CPU_PROFILE_STEP,
  SGD_MOMENTUM_KERNEL,
  STEP_BENCH_CONFIGS,
  stepBenchKey,
  SUM_OF_SQUARES_KERNEL,
  timeTorchSteps,
  timeTrainingSteps,
  type StepBenchConfig,
} from '../src/bench';
import { nativeKernelCalls, registerNativeBackend, NATIVE_BACKEND } from '@sphereface/native';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const STEPS = Number(opt('steps', '3')), WARMUP = Number(opt('warmup', '1'));
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
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const bogo = Number(/bogomips\s*:\s*([\d.]+)/.exec(cpuinfo)?.[1] ?? NaN);
  const ghz = bogo / 2 / 1000, cores = availableParallelism();
  const flags = /flags\s*:(.*)/.exec(cpuinfo)?.[1] ?? '';
  const isa = flags.includes(' avx512f') ? 'AVX-512' : flags.includes(' avx2') ? 'AVX2' : 'SSE';
  return { gflops: cores * ghz * 32, how: `${cores} cores × ${ghz.toFixed(2)} GHz (bogomips/2) × 32 FLOP/cycle (2 FMA pipes × 8 fp32 lanes × 2; ${isa} + FMA)` };
}

const ALL = [...STEP_BENCH_CONFIGS, CPU_PROFILE_STEP];
const CONFIGS = args.includes('--only') ? ALL.filter((c) => stepBenchKey(c) === opt('only', '')) : ALL;
if (!CONFIGS.length) throw new Error(`bench-native: --only ${opt('only', '')} matches none of ${ALL.map(stepBenchKey).join(', ')}`);

interface Row { backend: string; config: StepBenchConfig; stepS: number }
const rows: Row[] = [];
const flopsOf = new Map<string, number>();
const profiles: string[] = [];

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

async function benchTfjs(label: string, c: StepBenchConfig, profile: boolean): Promise<void> {
  const t = await timeTrainingSteps(c, { warmup: WARMUP, steps: STEPS, after: profile ? (trainer) => profileStep(trainer, stepBenchKey(c)) : undefined });
  flopsOf.set(stepBenchKey(c), t.flops);
  rows.push({ backend: label, config: c, stepS: t.stepS });
  console.error(`${label} ${stepBenchKey(c)}: ${t.stepS.toFixed(3)} s/step (${t.times.map((x) => x.toFixed(2)).join(', ')})`);
}

function benchTorch(c: StepBenchConfig): void {
  const torch = timeTorchSteps(c, { python: '/usr/bin/python3', steps: Math.max(STEPS, 5), warmup: 5, threads: availableParallelism() });
  if (typeof torch === 'string') return void console.error(`torch: skipped (${torch})`);
  rows.push({ backend: torch.label, config: c, stepS: torch.stepS });
  console.error(`${torch.label} ${stepBenchKey(c)}: ${torch.stepS.toFixed(3)} s/step (${torch.times.map((x) => x.toFixed(2)).join(', ')})`);
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
console.log(`\nTraining step, A-Softmax m=4; tfjs: median of ${STEPS} after ${WARMUP} warm-up, torch: ${Math.max(STEPS, 5)} after 5`);
console.log(`peak ${peakGflops.toFixed(0)} GFLOP/s = ${how}\n`);
console.log('| backend | config | s/step | images/s | GFLOP/s | % of peak | × torch |');
console.log('|---|---|---|---|---|---|---|');
for (const r of [...rows].sort((p, q) => p.backend.localeCompare(q.backend))) {
  const torch = rows.find((t) => t.backend.startsWith('torch') && t.config === r.config);
  const gf = flopsOf.get(stepBenchKey(r.config))! / r.stepS / 1e9;
  console.log(
    `| ${r.backend} | ${stepBenchKey(r.config)} | ${r.stepS.toFixed(3)} | ${(r.config.batch / r.stepS).toFixed(1)} | ${gf.toFixed(1)} | ${((100 * gf) / peakGflops).toFixed(1)} | ${torch ? (r.stepS / torch.stepS).toFixed(2) : 'n/a'} |`,
  );
}
for (const [k, f] of flopsOf) console.log(`FLOPs/step ${k}: ${(f / 1e9).toFixed(2)} GFLOP`);
if (profiles.length) console.log(`\n${profiles.join('\n')}`);
