import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CropBatchProvider, memoryCrops, type CropSource } from '@sphereface/data';
import { embedCrops, PREDICT_BATCH_SIZE } from './embed';
import { trainingStepFlops } from './flops';
import { marginHeadModel } from './margin-head';
import { createModel } from './sphereface';
import { Trainer } from './trainer';

/**
 * The training-step benchmark shared by scripts/bench-step.ts (wasm, cpu), libs/native's bench-native.ts and
 * scripts/bench-webgpu.ts: one SphereFace net + A-Softmax (m = 4) head trained by the Trainer (Caffe SGD) on a fixed
 * synthetic batch, and the same network in PyTorch (scripts/bench_step_torch.py) for the ratio. And the LFW embedding
 * benchmark (timeEmbedding, timeTorchEmbedding): a run's LFW features, 7,701 images original and mirrored.
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
  const labels = Int32Array.from({ length: c.batch }, (_, i) => i % c.classes);
  const provider = new CropBatchProvider(syntheticCrops(c.batch, c.size), labels, c.classes, 3, { mirror: false });
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
  /** Added to the child's environment (and named in the label), e.g. OPENBLAS_NUM_THREADS. */
  env?: Record<string, string>;
}

/** The same step in PyTorch, in a child process; a string says why it could not run. */
export function timeTorchSteps(c: StepBenchConfig, o: TorchStepOptions): { label: string; stepS: number; times: number[] } | string {
  if (o.python.includes('/') && !existsSync(o.python)) return `${o.python} not found`;
  const spec = { configs: [{ model: c.model, size: c.size, width: c.width ?? 1 }], batch: c.batch, classes: c.classes, steps: o.steps, warmup: o.warmup, threads: o.threads, device: o.device ?? 'cpu' };
  const res = spawnSync(o.python, [o.script ?? TORCH_STEP_SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...o.env } });
  if (res.status !== 0) return (res.stderr || res.error?.message || `exit ${res.status}`).trim().split('\n').pop()!;
  const r = JSON.parse(res.stdout.trim()) as { step_s: number; times: number[]; torch: string; blas: string; device: string };
  const where = [r.device === 'cpu' ? `${o.threads} threads, ${r.blas}` : r.device, ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`)].join(', ');
  return { label: `torch ${r.torch} (${where})`, stepS: r.step_s, times: r.times };
}

/** LFW's evaluation images: every image of the 6,000 pairs (@sphereface/data's pairImages), each embedded original and mirrored. */
export const LFW_EMBED_IMAGES = 7701;

/** A network whose LFW embedding is timed (randomly initialised: the time does not depend on the weights). */
export interface EmbedBenchConfig {
  model: string;
  size: [number, number];
  /** Channel width multiplier; default 1. */
  width?: number;
  /** Images timed, the first of the 7,701 (default all); fewer are timed and the time scaled to 7,701 (extrapolated). */
  images?: number;
}

/**
 * The cpu profile's network (CPU_PROFILE_STEP: what every reduced-scale run embeds), SphereFace-4 at 112×96, and
 * SphereFace-20 at 112×96 on the first 256 images (8 batches), extrapolated: all 7,701 would take about 80 s on native
 * and 150 s in PyTorch on 2 cores (256 timed: 2.7 s and 4.9–5.2 s), over the minute a side this benchmark allows.
 */
export const EMBED_BENCH_CONFIGS: EmbedBenchConfig[] = [
  { model: CPU_PROFILE_STEP.model, size: CPU_PROFILE_STEP.size, width: CPU_PROFILE_STEP.width },
  { model: 'sphereface4', size: [112, 96] },
  { model: 'sphereface20', size: [112, 96], images: 256 },
];

/** 'lfw-embed/sphereface4×0.25@56x48' (what bench-native's --only takes). */
export function embedBenchKey(c: EmbedBenchConfig): string {
  return `lfw-embed/${c.model}${c.width && c.width !== 1 ? `×${c.width}` : ''}@${c.size.join('x')}`;
}

/** Images timed of a config: its `images`, at most 7,701. */
export const embedBenchImages = (c: EmbedBenchConfig): number => Math.min(c.images ?? LFW_EMBED_IMAGES, LFW_EMBED_IMAGES);

/**
 * `count` synthetic crops: 64 distinct images (sin(0.37·i) scaled to bytes over [count, H, W, 3]), repeated; a
 * training batch of at most 64 (timeTrainingSteps) is all distinct. bench_step_torch.py's embed mode makes the same.
 */
export function syntheticCrops(count: number, size: [number, number]): CropSource {
  const bytes = size[0] * size[1] * 3, distinct = Math.min(count, 64);
  const pattern = Uint8Array.from({ length: distinct * bytes }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i * 0.37)));
  const data = new Uint8Array(count * bytes);
  for (let i = 0; i < count; i += distinct) data.set(pattern.subarray(0, Math.min(distinct, count - i) * bytes), i * bytes);
  return memoryCrops(data, ...size);
}

export interface EmbedTiming {
  /** Seconds for all 7,701 images (extrapolated from `images` when fewer were timed). */
  seconds: number;
  /** Seconds the timed images took. */
  timedS: number;
  /** Images timed, each embedded original and mirrored. */
  images: number;
  extrapolated: boolean;
  /** Feature dimension per pass (the fused feature is 2·dim). */
  dim: number;
}

/**
 * Times an experiment run's LFW embedding on the active tfjs backend: embedCrops (what experiments' lfwFeatures runs
 * on the LFW crop store: crops normalised to (v − 127.5)/128 and mirrored, batches of 32 through the network, features
 * read back into the original and flipped rows) on synthetic crops in memory instead of the store, after `warmup`
 * (default 1) passes over one batch. `after` runs with the backbone and the crops before
 * the backbone is disposed (bench-native profiles a pass there).
 */
export async function timeEmbedding(
  c: EmbedBenchConfig,
  options: { warmup?: number; after?: (backbone: tf.LayersModel, crops: CropSource) => Promise<void> } = {},
): Promise<EmbedTiming> {
  const images = embedBenchImages(c);
  const backbone = createModel(c.model, { inputSize: c.size, widthMultiplier: c.width ?? 1, seed: 1 });
  try {
    const crops = syntheticCrops(images, c.size);
    const first = syntheticCrops(Math.min(images, PREDICT_BATCH_SIZE), c.size);
    for (let i = 0; i < (options.warmup ?? 1); i++) embedCrops(backbone, first);
    const t0 = performance.now();
    const { dim } = embedCrops(backbone, crops); // returns after every feature is read back
    const timedS = (performance.now() - t0) / 1000;
    if (options.after) await options.after(backbone, crops);
    return { seconds: (timedS * LFW_EMBED_IMAGES) / images, timedS, images, extrapolated: images < LFW_EMBED_IMAGES, dim };
  } finally {
    backbone.dispose();
  }
}

/**
 * The same embedding in PyTorch (bench_step_torch.py's embed mode: eval(), no_grad, the same synthetic crops as
 * uint8 NCHW, per batch of 32 (the batch the tfjs network runs) normalised as (v − 127.5)/128, the batch and
 * torch.flip of it through the net, concatenated into the [N, 2·512] output), in a child process, with `env` added to
 * its environment (named in the label); a string says why it could not run.
 */
export function timeTorchEmbedding(
  c: EmbedBenchConfig,
  o: { python: string; threads: number; warmup?: number; device?: string; script?: string; env?: Record<string, string> },
): { label: string; seconds: number; timedS: number; images: number; extrapolated: boolean } | string {
  if (o.python.includes('/') && !existsSync(o.python)) return `${o.python} not found`;
  const images = embedBenchImages(c);
  const spec = { mode: 'embed', configs: [{ model: c.model, size: c.size, width: c.width ?? 1 }], images, batch: PREDICT_BATCH_SIZE, warmup: o.warmup ?? 1, threads: o.threads, device: o.device ?? 'cpu' };
  const env = { ...process.env, ...o.env };
  const res = spawnSync(o.python, [o.script ?? TORCH_STEP_SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (res.status !== 0) return (res.stderr || res.error?.message || `exit ${res.status}`).trim().split('\n').pop()!;
  const r = JSON.parse(res.stdout.trim()) as { embed_s: number; images: number; torch: string; blas: string; device: string };
  const where = [r.device === 'cpu' ? `${o.threads} threads, ${r.blas}` : r.device, ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`)].join(', ');
  return { label: `torch ${r.torch} (${where})`, seconds: (r.embed_s * LFW_EMBED_IMAGES) / r.images, timedS: r.embed_s, images: r.images, extrapolated: r.images < LFW_EMBED_IMAGES };
}
