import { mulberry32 } from '@sphereface/common';
import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend';
import { marginHeadModel } from '../margin-head';
import { createModel } from '../sphereface';
import { Trainer } from '../trainer';

/**
 * webgpu-against-cpu checks shared by the webgpu tests (SwiftShader in CI) and the GPU device script
 * (scripts/bench-webgpu.ts): no test-runner imports here, so the device bundle can carry them.
 */

/**
 * Per kernel: float outputs within KERNEL_TOL (max |Δ| / max |cpu|), integer and boolean outputs exact. Both backends
 * compute in float32; reductions, matmuls and convolutions sum in a different order (tiled on webgpu), which
 * perturbs a sum of n terms by up to about n·2⁻²⁴ ≈ n·6e-8 of its scale in the worst case and ~√n·6e-8 typically
 * (n ≤ 2304 here: 3×3×256 taps, or a conv dW over the batch: ≈ 3e-6). Elementwise ops differ only by the shader's
 * exp/log/pow rounding (a few ulp). A wrong tap, index or missing term errs by ≫ 1e-3.
 */
export const KERNEL_TOL = 1e-5;
/**
 * Kernels whose WGSL builtin is allowed a larger error (WGSL spec, floating-point accuracy): acos is defined as
 * atan2(√(1 − x²), x), and atan2 may err by 4096 ulp, i.e. up to 4096·2⁻²³ ≈ 4.9e-4 of the result (measured on
 * SwiftShader: 3.1e-5 at θ ≈ 1.6 rad, 1.9e-5 relative). Acos only computes the logged mean target angle
 * (MarginHead.targetAngles), never the loss or a gradient, so it does not enter the training check below.
 */
export const WGSL_ACCURACY_TOL: Readonly<Record<string, number>> = { Acos: 4096 * 2 ** -23 };
/**
 * After TRAIN_STEPS Trainer steps: losses and weights (max |Δ| / max |w| per variable) within TRAIN_TOL. Each step
 * feeds the kernel-level differences through forward, backward and the update, and the next step starts from the
 * perturbed weights; the steps move every trained variable by ≫ TRAIN_TOL (checked), so a wrong kernel shows.
 */
export const TRAIN_TOL = 1e-5;
export const TRAIN_STEPS = 3;

const SIZE: [number, number] = [28, 24], BATCH = 4, CLASSES = 5;
const setup = (model: string, width: number) => `${model} ×${width}, ${SIZE.join('×')}, batch ${BATCH}, A-Softmax m = 4, λ = 0`;
/** The kernel check runs SphereFace-20 (its residual units add the stride-1 convs and the skip sums to SphereFace-4's). */
const KERNEL_NET = { model: 'sphereface20', width: 0.125 } as const;
const TRAIN_NET = { model: 'sphereface4', width: 0.25 } as const;
export const KERNEL_SETUP = setup(KERNEL_NET.model, KERNEL_NET.width);
export const TRAIN_SETUP = setup(TRAIN_NET.model, TRAIN_NET.width);

/** max |a − b| / max |b| (0/0 = 0): scale-free, so small gradients are held to the same relative precision as large ones. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; rel: number } {
  if (a.length !== b.length) throw new Error(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let abs = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    abs = Math.max(abs, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { abs, rel: scale === 0 ? abs : abs / scale };
}

/** A narrow SphereFace + A-Softmax m = 4 with λ = 0 (the full margin from the first step, so ψ's kernels carry the gradient). */
function smallTrainer(net: { model: string; width: number }, steps: number) {
  const backbone = createModel(net.model, { inputSize: SIZE, widthMultiplier: net.width, seed: 11 });
  const { model: head } = marginHeadModel({ numClasses: CLASSES, loss: 'a-softmax', lossOptions: { m: 4, lambda: 0 }, inputDim: 512, seed: 12 });
  const rng = mulberry32(3);
  const crops = Uint8Array.from({ length: 2 * BATCH * SIZE[0] * SIZE[1] * 3 }, () => Math.floor(rng() * 256));
  const labels = Int32Array.from({ length: 2 * BATCH }, (_, i) => i % CLASSES);
  const provider = new CropBatchProvider(memoryCrops(crops, ...SIZE), labels, CLASSES, 5, { mirror: false });
  const trainer = new Trainer(backbone, head, provider, { batchSize: BATCH, maxIter: steps, progress: 'none', baseLr: 0.1 });
  return {
    trainer,
    /** Read asynchronously: webgpu has no synchronous readback on Node (tfjs would need OffscreenCanvas). */
    weights: async () =>
      Promise.all([...backbone.weights, ...head.weights].map(async (w) => ({ name: w.name, trainable: w.trainable, values: await w.read().data() }))),
    dispose: () => [trainer, backbone, head].forEach((x) => x.dispose()),
  };
}

interface Recorded { shape: number[]; dtype: tf.DataType; values: tf.backend_util.BackendValues }
export interface KernelCall { kernel: string; names: string[] | null; inputs: Recorded[]; attrs: tf.NamedAttrMap | undefined; outputs: Recorded[] }

/**
 * Every distinct kernel call (name, input shapes/dtypes, attributes) that the engine dispatches to the cpu backend
 * while `run` runs, with its input and output values: cpu's registered kernels are wrapped for the duration.
 */
export async function recordCpuKernels(run: () => Promise<void>): Promise<KernelCall[]> {
  const calls = new Map<string, KernelCall>();
  const originals = tf.getKernelsForBackend('cpu');
  const read = (backend: tf.KernelBackend, t: tf.TensorInfo): Recorded => ({
    shape: [...t.shape],
    dtype: t.dtype,
    values: (backend.readSync(t.dataId) as tf.TypedArray).slice(),
  });
  for (const config of originals) {
    tf.unregisterKernel(config.kernelName, 'cpu');
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        const out = config.kernelFunc(args);
        // Optional inputs (a fused conv's bias) are present as undefined.
        const entries = (Object.entries(args.inputs) as [string, tf.TensorInfo | undefined][]).filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined);
        const key = `${config.kernelName} ${JSON.stringify(entries.map(([n, t]) => [n, t.shape, t.dtype]))} ${JSON.stringify(args.attrs ?? {})}`;
        if (!calls.has(key)) {
          const backend = args.backend as tf.KernelBackend;
          calls.set(key, {
            kernel: config.kernelName,
            names: Array.isArray(args.inputs) ? null : entries.map(([n]) => n),
            inputs: entries.map(([, t]) => read(backend, t)),
            attrs: args.attrs,
            outputs: (Array.isArray(out) ? out : [out]).map((t) => read(backend, t)),
          });
        }
        return out;
      },
    });
  }
  try {
    await run();
  } finally {
    for (const config of originals) {
      tf.unregisterKernel(config.kernelName, 'cpu');
      tf.registerKernel(config);
    }
  }
  return [...calls.values()];
}

/** The same call on the active backend, outputs read asynchronously. */
async function replay(call: KernelCall): Promise<Recorded[]> {
  const inputs = call.inputs.map((r) => tf.tensor(r.values as tf.TypedArray, r.shape, r.dtype));
  const named = call.names ? Object.fromEntries(call.names.map((n, i) => [n, inputs[i]])) : inputs;
  const result = tf.engine().runKernel(call.kernel, named as unknown as tf.NamedTensorMap, call.attrs);
  const outputs = Array.isArray(result) ? result : [result as tf.Tensor];
  const recorded = await Promise.all(outputs.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: await t.data() })));
  tf.dispose([...inputs, ...outputs]);
  return recorded;
}

export interface KernelCheck { calls: number; kernels: string[]; worst: Map<string, { abs: number; rel: number }>; failures: string[]; leaked: number }

/** Records one training step's kernels on cpu, replays each call on webgpu, compares with KERNEL_TOL (WGSL_ACCURACY_TOL) / exactly. */
export async function checkTrainingKernels(): Promise<KernelCheck> {
  await selectBackend({ force: 'cpu', log: null });
  const cpu = smallTrainer(KERNEL_NET, 1);
  const calls = await recordCpuKernels(async () => void (await cpu.trainer.step()));
  cpu.dispose();
  await selectBackend({ force: 'webgpu', log: null });
  const before = tf.memory().numTensors;
  const worst = new Map<string, { abs: number; rel: number }>();
  const failures: string[] = [];
  for (const call of calls) {
    const where = `${call.kernel} ${JSON.stringify(call.inputs.map((i) => i.shape))} ${JSON.stringify(call.attrs ?? {})}`;
    const got = await replay(call);
    const shapes = (rs: Recorded[]) => JSON.stringify(rs.map((o) => [o.shape, o.dtype]));
    if (shapes(got) !== shapes(call.outputs)) {
      failures.push(`${where}: outputs ${shapes(got)}, cpu ${shapes(call.outputs)}`);
      continue;
    }
    for (const [i, o] of got.entries()) {
      const want = call.outputs[i];
      const err = relErr(o.values as tf.TypedArray, want.values as tf.TypedArray);
      const tol = want.dtype === 'float32' ? (WGSL_ACCURACY_TOL[call.kernel] ?? KERNEL_TOL) : 0;
      if (!(err.rel <= tol)) failures.push(`${where}: output ${i} differs by ${err.abs} (${err.rel} relative; tolerance ${tol})`);
      const w = worst.get(call.kernel);
      if (!w || err.rel > w.rel) worst.set(call.kernel, err);
    }
  }
  return { calls: calls.length, kernels: [...new Set(calls.map((c) => c.kernel))], worst, failures, leaked: tf.memory().numTensors - before };
}

export interface TrainingCheck { losses: { webgpu: number[]; cpu: number[] }; lossErr: number; weights: { name: string; abs: number; rel: number; moved: number }[]; failures: string[] }

/** TRAIN_STEPS steps of TRAIN_NET on cpu and on webgpu: losses and every weight within TRAIN_TOL, every trained weight moved. */
export async function checkTrainingSteps(): Promise<TrainingCheck> {
  const run = async (backend: 'cpu' | 'webgpu') => {
    await selectBackend({ force: backend, log: null });
    const t = smallTrainer(TRAIN_NET, TRAIN_STEPS);
    const initial = await t.weights();
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < TRAIN_STEPS; i++) losses.push((await t.trainer.step()).loss);
    const leaked = tf.memory().numTensors - before;
    const weights = await t.weights();
    t.dispose();
    return { losses, initial, weights, leaked };
  };
  const cpu = await run('cpu');
  const gpu = await run('webgpu');
  const failures: string[] = [];
  for (const [backend, r] of [['cpu', cpu], ['webgpu', gpu]] as const) if (r.leaked !== 0) failures.push(`${backend}: ${r.leaked} tensors leaked across steps`);
  const lossErr = relErr(gpu.losses, cpu.losses).rel;
  if (!(lossErr <= TRAIN_TOL)) failures.push(`losses ${gpu.losses} vs cpu ${cpu.losses}: ${lossErr} relative`);
  const weights = gpu.weights.map((w, i) => {
    const moved = relErr(cpu.weights[i].values as Float32Array, cpu.initial[i].values as Float32Array).rel;
    const err = relErr(w.values as Float32Array, cpu.weights[i].values as Float32Array);
    if (w.trainable && !(moved > 100 * TRAIN_TOL)) failures.push(`${w.name}: moved only ${moved} relative in ${TRAIN_STEPS} steps`);
    if (!(err.rel <= TRAIN_TOL)) failures.push(`${w.name}: differs by ${err.abs} (${err.rel} relative)`);
    return { name: w.name, ...err, moved };
  });
  return { losses: { webgpu: gpu.losses, cpu: cpu.losses }, lossErr, weights, failures };
}
