import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import { trainingStepFlops } from './flops';
import { marginHeadModel } from './margin-head';
import { createModel } from './sphereface';
import { Trainer } from './trainer';

/**
 * The training-step benchmark shared by scripts/bench-step.ts (wasm, cpu), libs/native's bench-native.ts and
 * scripts/bench-webgpu.ts: one SphereFace net + A-Softmax (m = 4) head trained by the Trainer (Caffe SGD) on a fixed
 * synthetic batch, and the same network in PyTorch (scripts/bench_step_torch.py) for the ratio.
 */
export interface StepBenchConfig {
  model: string;
  size: [number, number];
  batch: number;
  classes: number;
  /** Channel width multiplier (SphereFaceOptions.widthMultiplier); default 1. */
  width?: number;
}

const standard = (model: string, size: [number, number]): StepBenchConfig => ({ model, size, batch: 32, classes: 100 });

/** SphereFace-4 and -20 at 112×96 and 56×48, batch 32, 100 classes (the toolchain notes' measurement). */
export const STEP_BENCH_CONFIGS: StepBenchConfig[] = [
  standard('sphereface4', [112, 96]),
  standard('sphereface4', [56, 48]),
  standard('sphereface20', [112, 96]),
  standard('sphereface20', [56, 48]),
];

/** The network and batch of experiments' `cpu` profile (SphereFace-4 ×0.25 at 56×48, batch 64, 249 CelebA identities). */
export const CPU_PROFILE_STEP: StepBenchConfig = { model: 'sphereface4', size: [56, 48], batch: 64, classes: 249, width: 0.25 };

export function stepBenchKey(c: StepBenchConfig): string {
  return `${c.model}${c.width && c.width !== 1 ? `×${c.width}` : ''}@${c.size.join('x')}/b${c.batch}`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface StepTiming {
  /** Median seconds per step after the warm-up. */
  stepS: number;
  times: number[];
  /** Convolution / FC / classifier FLOPs of one step (trainingStepFlops). */
  flops: number;
}

/**
 * Times Trainer steps of one config on the active tfjs backend. `after` runs with the warmed-up trainer before it is
 * disposed (bench-native profiles a step there).
 */
export async function timeTrainingSteps(
  c: StepBenchConfig,
  options: { warmup: number; steps: number; after?: (trainer: Trainer) => Promise<void> },
): Promise<StepTiming> {
  const backbone = createModel(c.model, { inputSize: c.size, widthMultiplier: c.width ?? 1, seed: 1 });
  const { model: head } = marginHeadModel({ numClasses: c.classes, loss: 'a-softmax', inputDim: 512, seed: 2 });
  const crops = Uint8Array.from({ length: c.batch * c.size[0] * c.size[1] * 3 }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i * 0.37)));
  const labels = Int32Array.from({ length: c.batch }, (_, i) => i % c.classes);
  const provider = new CropBatchProvider(memoryCrops(crops, ...c.size), labels, c.classes, 3, { mirror: false });
  const trainer = new Trainer(backbone, head, provider, { batchSize: c.batch, maxIter: 1e9, progress: 'none' });
  try {
    const times: number[] = [];
    // stepSeconds ends after the step's metrics are read back, so on a GPU it includes the device work.
    for (let i = 0; i < options.warmup + options.steps; i++) {
      const r = await trainer.step();
      if (i >= options.warmup) times.push(r.stepSeconds);
    }
    if (options.after) await options.after(trainer);
    return { stepS: median(times), times, flops: trainingStepFlops(backbone, c.classes, c.batch) };
  } finally {
    [trainer, backbone, head].forEach((m) => m.dispose());
  }
}

export const TORCH_STEP_SCRIPT = join(import.meta.dirname, '..', 'scripts', 'bench_step_torch.py');

export interface TorchStepOptions {
  python: string;
  steps: number;
  warmup: number;
  threads: number;
  /** 'cpu' (default) or a CUDA device. */
  device?: string;
  script?: string;
}

/** The same step in PyTorch, in a child process; a string says why it could not run. */
export function timeTorchSteps(c: StepBenchConfig, o: TorchStepOptions): { label: string; stepS: number; times: number[] } | string {
  if (o.python.includes('/') && !existsSync(o.python)) return `${o.python} not found`;
  const spec = { configs: [{ model: c.model, size: c.size, width: c.width ?? 1 }], batch: c.batch, classes: c.classes, steps: o.steps, warmup: o.warmup, threads: o.threads, device: o.device ?? 'cpu' };
  const res = spawnSync(o.python, [o.script ?? TORCH_STEP_SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) return (res.stderr || res.error?.message || `exit ${res.status}`).trim().split('\n').pop()!;
  const r = JSON.parse(res.stdout.trim()) as { step_s: number; times: number[]; torch: string; blas: string; device: string };
  const where = r.device === 'cpu' ? `${o.threads} threads, ${r.blas}` : r.device;
  return { label: `torch ${r.torch} (${where})`, stepS: r.step_s, times: r.times };
}
