/**
 * Training-step benchmark: SphereFace-4/-20 at 112×96 and 56×48, batch 32, and the cpu profile's SphereFace-4 ×0.25
 * at batch 64, with an A-Softmax (m=4) head and Caffe SGD, on the wasm (and tfjs-node, when installed) backends and
 * the cpu backend, next to PyTorch (Debian python3-torch) on the same net and head. The native (oneDNN) backend has
 * its own script: libs/models/scripts/bench-native.ts.
 *
 *   npx tsx libs/models/scripts/bench-step.ts [--steps 3] [--warmup 1] [--no-torch] [--no-cpu]
 *
 * GFLOP/s counts the convolution / FC / classifier multiply-adds of forward + dX + dW (no dX for conv1), 2 FLOP
 * per MAC; element-wise work (PReLU, adds, the loss) is not counted.
 */
import { cpus, loadavg } from 'node:os';
import { selectBackend, type BackendChoice } from '../src/backend';
import { CPU_PROFILE_STEP, STEP_BENCH_CONFIGS, stepBenchKey, timeTorchSteps, timeTrainingSteps, type StepBenchConfig } from '../src/step-bench';
import { registerConvGradientKernels } from '../src/wasm-kernels';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const STEPS = opt('steps', 3), WARMUP = opt('warmup', 1);
const CONFIGS = [...STEP_BENCH_CONFIGS, CPU_PROFILE_STEP];
// The stock-structured cpu backend is ~20× slower than wasm: one small config only.
const CPU_CONFIGS = args.includes('--no-cpu') ? [] : [STEP_BENCH_CONFIGS[1]];

interface Row { backend: string; config: StepBenchConfig; stepS: number; load: number }
const rows: Row[] = [];
const flopsOf = new Map<string, number>();

async function benchTfjs(label: string, c: StepBenchConfig, warmup = WARMUP, steps = STEPS): Promise<void> {
  const t = await timeTrainingSteps(c, { warmup, steps });
  flopsOf.set(stepBenchKey(c), t.flops);
  rows.push({ backend: label, config: c, stepS: t.stepS, load: loadavg()[0] });
  console.error(`${label} ${stepBenchKey(c)}: ${t.stepS.toFixed(3)} s/step (${t.times.map((x) => x.toFixed(2)).join(', ')})`);
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
const withTorch = !args.includes('--no-torch');

// Config by config, torch right before the tfjs runs, so that both see similar load on a shared machine.
for (const c of CONFIGS) {
  if (withTorch) {
    const torch = timeTorchSteps(c, { python: '/usr/bin/python3', steps: Math.max(STEPS, 5), warmup: 5, threads: cpus().length });
    if (typeof torch === 'string') console.error(`torch: skipped (${torch})`);
    else rows.push({ backend: torch.label, config: c, stepS: torch.stepS, load: loadavg()[0] });
  }
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

const torchOf = (r: Row) => rows.find((t) => t.backend.startsWith('torch') && t.config === r.config);
console.log(`\nTraining step, A-Softmax m=4, median of ${STEPS} after ${WARMUP} warm-up (torch: ${Math.max(STEPS, 5)} after 5)\n`);
console.log('| backend | config | s/step | images/s | GFLOP/s | × torch | load avg |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const t = torchOf(r);
  const flops = flopsOf.get(stepBenchKey(r.config));
  console.log(`| ${r.backend} | ${stepBenchKey(r.config)} | ${r.stepS.toFixed(3)} | ${(r.config.batch / r.stepS).toFixed(1)} | ${flops ? (flops / r.stepS / 1e9).toFixed(1) : 'n/a'} | ${t ? (r.stepS / t.stepS).toFixed(2) : 'n/a'} | ${r.load.toFixed(1)} |`);
}
console.log(`(load avg: 1-minute load average of this ${cpus().length}-core machine after each measurement; the machine is shared)`);
for (const [k, f] of flopsOf) console.log(`FLOPs/step ${k}: ${(f / 1e9).toFixed(2)} GFLOP`);
