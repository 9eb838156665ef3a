/**
 * Training-step benchmark of the oneDNN 'native' backend against wasm (+ @sphereface/models' training kernels) and
 * PyTorch (Debian python3-torch) in one run, with @sphereface/models' step benchmark (src/step-bench.ts):
 * SphereFace-4/-20 at 112×96 and 56×48, batch 32, and the cpu profile's SphereFace-4 ×0.25 at 56×48, batch 64;
 * A-Softmax (m=4) head, the models' Trainer (Caffe SGD, momentum, weight decay, clipping); PyTorch as installed and with
 * OPENBLAS_NUM_THREADS=1 (see TORCH_ENVS), × torch against the faster. Then (unless --no-embed) the
 * LFW embedding of an experiment run (step-bench's timeEmbedding: embedCrops, 7,701 images original and mirrored,
 * batches of 32 through the network, features concatenated) on native against PyTorch inference of the same network
 * (eval, no_grad, same batches, same threads; as installed, and with OPENBLAS_NUM_THREADS=1, which keeps OpenBLAS's
 * own threads from competing with torch's for the cores; × torch is against the faster), for the cpu profile's
 * SphereFace-4 ×0.25 at 56×48, SphereFace-4 at 112×96 and SphereFace-20 at 112×96 (timed on a subset and
 * extrapolated: the table says so).
 *
 *   npx tsx libs/models/scripts/bench-native.ts [--steps 3] [--warmup 1] [--only sphereface4@112x96/b32]
 *                                               [--no-wasm] [--no-torch] [--no-embed] [--profile] [--top 16]
 *
 * --only takes a step config's key or an embedding config's (lfw-embed/sphereface4×0.25@56x48) and runs only that.
 *
 * FLOPs: conv / FC / classifier multiply-adds of forward + dX + dW (no dX for conv1), 2 FLOP per MAC (trainingStepFlops);
 * element-wise work is not counted. Peak: see peak() below. --profile runs one extra step per config under tf.profile
 * on native and splits its wall time into oneDNN kernels, the addon's loops, other (cpu) kernels by name, and the rest
 * (JS: tape, tidy, allocation); for the embedding, one pass over the config's images (the timed ones) likewise.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { embedCrops, selectBackend, type Trainer } from '../src/index';
import {
  CPU_PROFILE_STEP,
  EMBED_BENCH_CONFIGS,
  embedBenchKey,
  LFW_EMBED_IMAGES,
  SGD_MOMENTUM_KERNEL,
  STEP_BENCH_CONFIGS,
  stepBenchKey,
  SUM_OF_SQUARES_KERNEL,
  timeEmbedding,
  timeTorchEmbedding,
  timeTorchSteps,
  timeTrainingSteps,
  type EmbedBenchConfig,
  type EmbedTiming,
  type StepBenchConfig,
} from '../src/bench';
import { MARGIN_SOFTMAX_KERNEL } from '@sphereface/common';
import { loadNativeAddon, nativeKernelCalls, registerNativeBackend, NATIVE_BACKEND, type NativeAddon } from '@sphereface/native';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const STEPS = Number(opt('steps', '3')), WARMUP = Number(opt('warmup', '1'));
/** Kernels the addon runs (for the profile split). */
const ONEDNN_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul', MARGIN_SOFTMAX_KERNEL, 'MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad']);
/** Kernels the addon runs with its own OpenMP loops. */
const ADDON_LOOPS = new Set(['Prelu', 'SphereFaceNativePreluGrad', 'Relu', 'Relu6', 'Step', 'Add', 'Sub', 'Multiply', 'RealDiv', 'Square', 'Sum', SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL]);

/**
 * Peak FP32 of this machine, measured: every thread runs independent FMA chains at the widest vector width the CPU has
 * (the addon's measurePeak), so the figure uses the clock the cores really run at. The nominal figure (cores ×
 * bogomips/2 × FLOP/cycle) is printed beside it: under a VM /proc/cpuinfo shows the base clock only (2.6 GHz on this
 * Zen 5, whose FMAs run at 4.3 GHz).
 */
function peak(): { gflops: number; how: string } {
  const measured = (loadNativeAddon() as NativeAddon).measurePeak(0.5);
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const ghz = Number(/bogomips\s*:\s*([\d.]+)/.exec(cpuinfo)?.[1] ?? NaN) / 2 / 1000;
  const perCycle = measured.isa === 'AVX-512' ? 64 : 32; // 2 FMA pipes × lanes × 2 FLOP (Zen 4 splits AVX-512: an upper bound there)
  return {
    gflops: measured.gflops,
    how: `${measured.threads} threads × ${measured.isa} FMA chains, measured (${(measured.gflops / measured.threads / perCycle).toFixed(2)} GHz × ${perCycle} FLOP/cycle a core); nominal ${availableParallelism()} cores × ${ghz.toFixed(2)} GHz (bogomips/2) × ${perCycle} = ${(availableParallelism() * ghz * perCycle).toFixed(0)} GFLOP/s`,
  };
}

const ALL = [...STEP_BENCH_CONFIGS, CPU_PROFILE_STEP];
const ONLY = args.includes('--only') ? opt('only', '') : null;
const CONFIGS = ONLY !== null ? ALL.filter((c) => stepBenchKey(c) === ONLY) : ALL;
const EMBED_CONFIGS = args.includes('--no-embed') ? [] : EMBED_BENCH_CONFIGS.filter((c) => ONLY === null || embedBenchKey(c) === ONLY);
if (!CONFIGS.length && !EMBED_CONFIGS.length) {
  const keys = [...ALL.map(stepBenchKey), ...(args.includes('--no-embed') ? [] : EMBED_BENCH_CONFIGS.map(embedBenchKey))];
  throw new Error(`bench-native: --only ${ONLY} matches none of ${keys.join(', ')}`);
}

interface Row { backend: string; config: StepBenchConfig; stepS: number }
const rows: Row[] = [];
const flopsOf = new Map<string, number>();
const profiles: string[] = [];

/** Profiles one step of a warmed-up trainer. */
const profileStep = (trainer: Trainer, key: string) => profileNative(key, 'profiled step', async () => void (await trainer.step()));

async function profileNative(key: string, what: string, run: () => Promise<void>): Promise<void> {
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // the profiler would otherwise read every output back
  const callsBefore = nativeKernelCalls();
  const t0 = performance.now();
  const info = await tf.profile(run);
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
    `profile native ${key}: wall ${wall.toFixed(0)} ms (${what}) = oneDNN kernels ${onednn.toFixed(0)} + addon element-wise ${loops.toFixed(0)}` +
      ` + cpu-backend JS kernels ${js.toFixed(0)} + outside kernels ${(wall - onednn - loops - js).toFixed(0)} ms (tape, tidy, allocation, data reads);` +
      ` ${info.kernels.length} kernel calls; handed to the cpu kernel: ${fallbacks.map(([n, k]) => `${n} ×${k}`).join(', ') || 'none'}\n` +
      top.map(([n, e]) => `    ${n.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  ×${e.n}  ${kind(n)}`).join('\n'),
  );
}

/** Times `c` on the active tfjs backend (logged; the row is added by addRow). */
async function timeTfjs(label: string, c: StepBenchConfig, profile: boolean): Promise<number[]> {
  const t = await timeTrainingSteps(c, { warmup: WARMUP, steps: STEPS, after: profile ? (trainer) => profileStep(trainer, stepBenchKey(c)) : undefined });
  flopsOf.set(stepBenchKey(c), t.flops);
  console.error(`${label} ${stepBenchKey(c)}: ${t.stepS.toFixed(3)} s/step (${t.times.map((x) => x.toFixed(2)).join(', ')})`);
  return t.times;
}

/** A table row: the median of the steps timed (the same median as timeTrainingSteps'). */
function addRow(label: string, c: StepBenchConfig, times: number[]): void {
  rows.push({ backend: label, config: c, stepS: median(times) });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * PyTorch as installed, and with OpenBLAS single-threaded: its own thread pool otherwise competes with torch's OpenMP
 * threads for the cores (2.6× slower inference of the cpu-profile network measured). × torch is against the faster.
 */
const TORCH_ENVS: Record<string, string>[] = [{}, { OPENBLAS_NUM_THREADS: '1' }];

function benchTorch(c: StepBenchConfig): void {
  for (const env of TORCH_ENVS) {
    const torch = timeTorchSteps(c, { python: '/usr/bin/python3', steps: Math.max(STEPS, 5), warmup: 5, threads: availableParallelism(), env });
    if (typeof torch === 'string') return void console.error(`torch: skipped (${torch})`);
    rows.push({ backend: torch.label, config: c, stepS: torch.stepS });
    console.error(`${torch.label} ${stepBenchKey(c)}: ${torch.stepS.toFixed(3)} s/step (${torch.times.map((x) => x.toFixed(2)).join(', ')})`);
  }
}

interface EmbedRow { backend: string; config: EmbedBenchConfig; seconds: number; images: number; extrapolated: boolean }
const embedRows: EmbedRow[] = [];

/** Times one embedding pass on native (logged); the row is added by the caller. */
async function timeEmbedNative(label: string, c: EmbedBenchConfig, profile: boolean): Promise<EmbedTiming> {
  const key = embedBenchKey(c);
  const after = async (backbone: tf.LayersModel, crops: Parameters<typeof embedCrops>[1]) =>
    profileNative(key, `profiled pass over ${crops.count} images`, async () => void embedCrops(backbone, crops));
  const t = await timeEmbedding(c, { warmup: WARMUP, after: profile ? after : undefined });
  console.error(`${label} ${key}: ${t.timedS.toFixed(2)} s for ${t.images} images${t.extrapolated ? ` → ${t.seconds.toFixed(2)} s for ${LFW_EMBED_IMAGES}` : ''}`);
  return t;
}


function benchEmbedTorch(c: EmbedBenchConfig): void {
  for (const env of TORCH_ENVS) {
    const torch = timeTorchEmbedding(c, { python: '/usr/bin/python3', threads: availableParallelism(), warmup: WARMUP, env });
    if (typeof torch === 'string') return void console.error(`torch: skipped (${torch})`);
    embedRows.push({ backend: torch.label, config: c, seconds: torch.seconds, images: torch.images, extrapolated: torch.extrapolated });
    console.error(`${torch.label} ${embedBenchKey(c)}: ${torch.timedS.toFixed(2)} s for ${torch.images} images${torch.extrapolated ? ` → ${torch.seconds.toFixed(2)} s for ${LFW_EMBED_IMAGES}` : ''}`);
  }
}

const native = registerNativeBackend();
const nativeLabel = `tfjs native (oneDNN ${native.dnnl}, ${native.threads} threads${native.winograd ? ', Winograd' : ''})`;
console.error(`native: oneDNN ${native.dnnl}, ${native.threads} threads`);
// Config by config, each backend in turn: the machine's load drifts over minutes, so the sides of each comparison
// are measured as close together as possible.
// Native is timed before and after torch and the steps pooled: a side timed only after (or only before) another
// process's run was seen 1.5–2.5× slower on the small network than the same process's steps in isolation.
for (const c of CONFIGS) {
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error("bench-native: tf.setBackend('native') returned false");
  if (args.includes('--no-torch')) addRow(nativeLabel, c, await timeTfjs(nativeLabel, c, args.includes('--profile')));
  else {
    const before = await timeTfjs(`${nativeLabel}, before torch,`, c, false);
    benchTorch(c);
    const after = await timeTfjs(`${nativeLabel}, after torch,`, c, args.includes('--profile'));
    addRow(nativeLabel, c, [...before, ...after]);
  }
  if (!args.includes('--no-wasm')) {
    const info = await selectBackend({ force: 'wasm', log: null });
    const wasmLabel = `tfjs wasm (SIMD ${info.wasm?.simd}, ${info.wasm?.threads} thread) + models kernels`;
    addRow(wasmLabel, c, await timeTfjs(wasmLabel, c, false));
  }
}

for (const c of EMBED_CONFIGS) {
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error("bench-native: tf.setBackend('native') returned false");
  // As for the steps: one pass before and one after torch, the row their mean.
  const passes = [await timeEmbedNative(nativeLabel, c, args.includes('--profile') && args.includes('--no-torch'))];
  if (!args.includes('--no-torch')) {
    benchEmbedTorch(c);
    passes.push(await timeEmbedNative(`${nativeLabel}, after torch,`, c, args.includes('--profile')));
  }
  const mean = (f: (t: EmbedTiming) => number) => passes.reduce((a, t) => a + f(t), 0) / passes.length;
  embedRows.push({ backend: nativeLabel, config: c, seconds: mean((t) => t.seconds), images: passes[0].images, extrapolated: passes[0].extrapolated });
}

if (CONFIGS.length) {
  const { gflops: peakGflops, how } = peak();
  console.log(`\nTraining step, A-Softmax m=4; tfjs: median of ${STEPS} after ${WARMUP} warm-up, torch: ${Math.max(STEPS, 5)} after 5`);
  console.log(`peak ${peakGflops.toFixed(0)} GFLOP/s = ${how}`);
  console.log('GFLOP/s counts the direct convolutions\' multiply-adds; Winograd convolutions (3×3 stride 1 on AVX-512) do fewer, so theirs is an effective rate\n');
  console.log('| backend | config | s/step | images/s | GFLOP/s | % of peak | × torch |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of [...rows].sort((p, q) => p.backend.localeCompare(q.backend))) {
    const torch = rows.filter((t) => t.backend.startsWith('torch') && t.config === r.config).sort((p, q) => p.stepS - q.stepS)[0];
    const gf = flopsOf.get(stepBenchKey(r.config))! / r.stepS / 1e9;
    console.log(
      `| ${r.backend} | ${stepBenchKey(r.config)} | ${r.stepS.toFixed(3)} | ${(r.config.batch / r.stepS).toFixed(1)} | ${gf.toFixed(1)} | ${((100 * gf) / peakGflops).toFixed(1)} | ${torch ? (r.stepS / torch.stepS).toFixed(2) : 'n/a'} |`,
    );
  }
  for (const [k, f] of flopsOf) console.log(`FLOPs/step ${k}: ${(f / 1e9).toFixed(2)} GFLOP`);
}
if (embedRows.length) {
  const n = LFW_EMBED_IMAGES.toLocaleString('en');
  console.log(`\nLFW embedding as a run does it (embedCrops: batches of 32, original + mirrored, concatenated features) on synthetic crops;`);
  console.log(`tfjs after ${WARMUP} warm-up pass(es) over one batch, torch (eval, no_grad) likewise; images/s counts both passes; × torch: against the faster torch row\n`);
  console.log('| backend | network | images | seconds | images/s | × torch |');
  console.log('|---|---|---|---|---|---|');
  for (const r of [...embedRows].sort((p, q) => p.backend.localeCompare(q.backend))) {
    const torch = embedRows.filter((t) => t.backend.startsWith('torch') && t.config === r.config).sort((p, q) => p.seconds - q.seconds)[0];
    const images = `${n} × 2 passes${r.extrapolated ? ` (extrapolated from ${r.images.toLocaleString('en')} timed)` : ''}`;
    console.log(
      `| ${r.backend} | ${embedBenchKey(r.config)} | ${images} | ${r.seconds.toFixed(2)} | ${((2 * LFW_EMBED_IMAGES) / r.seconds).toFixed(0)} | ${torch ? (r.seconds / torch.seconds).toFixed(2) : 'n/a'} |`,
    );
  }
}
if (profiles.length) console.log(`\n${profiles.join('\n')}`);
