import * as tf from '@tensorflow/tfjs';
import { normalisePixel, type CropSource } from '@sphereface/data';
import { SphereConv2D } from './layers';

/** How the features of an image and its horizontal mirror are combined; the paper concatenates. */
export type FlipFusion = 'none' | 'sum' | 'concat';

/**
 * Embeddings of aligned, normalised images [N,H,W,3] in batches: 'none' → f(x) [N,D]; 'sum' → f(x)+f(flip x) [N,D];
 * 'concat' → [f(x), f(flip x)] [N,2D] (SphereFace's 1024-D test feature).
 */
export function extractEmbeddings(backbone: tf.LayersModel, images: tf.Tensor4D, fusion: FlipFusion = 'concat', batchSize = 64): tf.Tensor2D {
  if (!['none', 'sum', 'concat'].includes(fusion)) throw new Error(`extractEmbeddings: fusion must be none|sum|concat, got '${fusion}'`);
  const n = images.shape[0];
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < n; start += batchSize) {
    parts.push(
      tf.tidy(() => {
        const x = tf.slice(images, [start, 0, 0, 0], [Math.min(batchSize, n - start), -1, -1, -1]);
        const f = backbone.predict(x) as tf.Tensor2D;
        if (fusion === 'none') return f;
        const g = backbone.predict(tf.reverse(x, 2)) as tf.Tensor2D;
        return fusion === 'sum' ? tf.add(f, g) : tf.concat([f, g], 1);
      }),
    );
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return out;
}

/**
 * LayersModel.predict's default batchSize: what extractEmbeddings' batches of 64 (and the earlier embedCrops' chunks
 * of 256) ran through the network as (predict slices its input into batches of 32 and concatenates the outputs).
 */
export const PREDICT_BATCH_SIZE = 32;

/** normalisePixel of every byte value, as @sphereface/data's assembleBatch looks them up. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => normalisePixel(v));

/**
 * Writes `count` crops of height × width × 3 bytes (`bytes`, one after another), their centre windows with a margin,
 * normalised into `original` and, mirrored, into `mirrored` ([count, height − 2·margin, width − 2·margin, 3] each):
 * what assembleBatch writes with flips 0 and with flips 1 (the window cut first, then mirrored).
 * @sphereface/native's addon has the same function (`normaliseCrops`, csrc/crops.cc), bit for bit.
 */
export type CropNormaliser = (bytes: Uint8Array, original: Float32Array, mirrored: Float32Array, count: number, height: number, width: number, margin: number) => void;

/** The JS CropNormaliser (any backend; embedCrops uses the addon's where the native backend is active). */
export const normaliseCrops: CropNormaliser = (bytes, original, mirrored, count, cropHeight, cropWidth, margin) => {
  const height = cropHeight - 2 * margin, row = (cropWidth - 2 * margin) * 3, size = cropHeight * cropWidth * 3;
  for (let i = 0; i < count; i++) {
    for (let y = 0, o = i * height * row; y < height; y++, o += row) {
      const s = i * size + ((margin + y) * cropWidth + margin) * 3;
      for (let x = 0, m = o + row - 3; x < row; x += 3, m -= 3) {
        const r = NORMALISED[bytes[s + x]], g = NORMALISED[bytes[s + x + 1]], b = NORMALISED[bytes[s + x + 2]];
        original[o + x] = r;
        original[o + x + 1] = g;
        original[o + x + 2] = b;
        mirrored[m] = r;
        mirrored[m + 1] = g;
        mirrored[m + 2] = b;
      }
    }
  }
};

/**
 * The addon's normaliseCrops when the active backend is @sphereface/native's (its backend object carries the addon;
 * models loads that package only as an optional dependency, so it is not imported here), else null.
 */
export function nativeCropNormaliser(): CropNormaliser | null {
  const addon = (tf.backend() as unknown as { addon?: { normaliseCrops?: CropNormaliser } }).addon;
  const f = addon?.normaliseCrops;
  return typeof f === 'function' ? (...args) => f.apply(addon, args) : null;
}

type Layer = tf.layers.Layer;

/** Layers inferencePlan runs by their own call (what LayersModel.execute's internal graph run calls too). */
const PLAN_LAYERS = new Set(['InputLayer', 'SphereConv2D', 'PReLU', 'Add', 'Flatten', 'Dense']);

/**
 * The backbone's graph run layer by layer without LayersModel.execute's bookkeeping, each SphereConv2D whose only
 * consumer is a PReLU fused with it into one FusedConv2D call (SphereConv2D.callWithPrelu; on the native backend the
 * same bits as the two kernels; only per-channel slopes, which the native kernels never hand to the cpu backend), a
 * linear Dense on a 2-D input as its one _FusedMatMul kernel call; every other layer runs its `call` as execute does.
 * Null (embedCrops then uses execute) for a graph of other layers, several inputs or outputs, or layers applied more
 * than once (e.g. a Sequential, whose InputLayer is not its own).
 */
export function inferencePlan(backbone: tf.LayersModel): ((x: tf.Tensor4D) => tf.Tensor) | null {
  if (backbone.inputLayers.length !== 1 || backbone.outputLayers.length !== 1 || backbone.outputs.length !== 1) return null;
  const all = new Set([...backbone.inputLayers, ...backbone.layers]); // a Sequential's layers omit its InputLayer
  const inputs = new Map<Layer, Layer[]>();
  const consumers = new Map<Layer, Layer[]>();
  for (const l of all) {
    if (!PLAN_LAYERS.has(l.getClassName()) || l.inboundNodes.length !== 1) return null;
    const node = l.inboundNodes[0];
    if (node.outputTensors.length !== 1 || node.tensorIndices.some((t) => t !== 0) || node.inboundLayers.some((p) => !all.has(p))) return null;
    inputs.set(l, node.inboundLayers);
    for (const p of node.inboundLayers) consumers.set(p, [...(consumers.get(p) ?? []), l]);
  }
  const input = backbone.inputLayers[0], output = backbone.outputLayers[0];
  if (input.getClassName() !== 'InputLayer' || inputs.get(input)!.length !== 0) return null;
  // Topological order from the output (the layers the output needs, each after its inputs).
  const order: Layer[] = [];
  const seen = new Set<Layer>();
  const visit = (l: Layer): void => {
    if (seen.has(l)) return;
    seen.add(l);
    for (const p of inputs.get(l)!) visit(p);
    order.push(l);
  };
  visit(output);
  const fusedInto = new Map<Layer, SphereConv2D>(); // PReLU → the conv it absorbs
  for (const l of order) {
    const next = consumers.get(l) ?? [];
    const alpha = next.length === 1 && next[0].getClassName() === 'PReLU' && next[0].weights.length === 1 ? next[0].weights[0].shape : null;
    if (l instanceof SphereConv2D && l !== output && alpha && alpha.slice(0, -1).every((d) => d === 1)) fusedInto.set(next[0], l);
  }
  const absorbed = new Set<Layer>(fusedInto.values());
  // Dense layers without an activation as the one _FusedMatMul kernel tf.fused.matMul runs for them on a 2-D input
  // (without its reshapes of the input, the kernel and the bias, and of the result back).
  const denseLinear = new Set(order.filter((l) => l.getClassName() === 'Dense' && l.getConfig().activation === 'linear' && l.weights.length === (l.getConfig().useBias ? 2 : 1)));
  const steps = order.filter((l) => !absorbed.has(l) && l !== input);
  return (x) => {
    const values = new Map<Layer, tf.Tensor>([[input, x]]);
    for (const l of steps) {
      const conv = fusedInto.get(l);
      if (conv) values.set(l, conv.callWithPrelu(values.get(inputs.get(conv)![0])! as tf.Tensor4D, l.weights[0].read()));
      else if (denseLinear.has(l) && values.get(inputs.get(l)![0])!.rank === 2) {
        const [kernel, bias] = l.weights.map((w) => w.read());
        const matmul = { a: values.get(inputs.get(l)![0])!, b: kernel, ...(bias ? { bias } : {}) };
        values.set(l, tf.engine().runKernel('_FusedMatMul', matmul, { transposeA: false, transposeB: false, activation: 'linear' }) as tf.Tensor);
      } else {
        const args = inputs.get(l)!.map((p) => values.get(p)!);
        values.set(l, l.call(args.length === 1 ? args[0] : args, {}) as tf.Tensor);
      }
    }
    return values.get(output)!;
  };
}

/**
 * Embeddings of the original and the mirrored crops (their centre windows with a margin), [N, D] each: how an
 * experiment run embeds LFW (experiments' lfwFeatures) and its training crops, and what step-bench's timeEmbedding
 * times. The same bits as extractEmbeddings(…, 'concat') on the normalised crops, with less work around the network:
 * the network runs the same batches (`batchSize` crops from the start: predict's 32 by default), each crop is read
 * once into its normalised and its mirrored row (no tf.reverse, tf.slice or tf.concat copies; by the addon's loop on the
 * native backend, bit-identical to the JS one) in arrays reused by every batch, the batch goes through
 * LayersModel.execute (predict without its batch slicing and output concatenation; on the native backend through
 * inferencePlan instead, the same bits), and its features are read straight into their rows.
 */
export function embedCrops(backbone: tf.LayersModel, crops: CropSource, opts: { margin?: number; batchSize?: number } = {}): { original: Float32Array; flipped: Float32Array; dim: number } {
  const { margin = 0, batchSize = PREDICT_BATCH_SIZE } = opts;
  const n = crops.count, height = crops.height - 2 * margin, width = crops.width - 2 * margin;
  if (backbone.outputs.length !== 1) throw new Error(`embedCrops: the backbone has ${backbone.outputs.length} outputs; one feature output is needed`);
  const [, h, w, c] = backbone.inputs[0].shape;
  if (h !== height || w !== width || c !== 3) throw new Error(`embedCrops: the backbone takes ${h}×${w}×${c} images; the crops are ${height}×${width}×3`);
  const output = backbone.outputs[0].name;
  const native = nativeCropNormaliser();
  const normalise = native ?? normaliseCrops;
  // On the native backend the graph runs without execute, its conv + PReLU pairs fused (the same bits there).
  const plan = native ? inferencePlan(backbone) : null;
  const run = plan ?? ((x: tf.Tensor4D) => backbone.execute(x, output) as tf.Tensor);
  // One byte buffer and one pair of input arrays for every batch (fresh arrays would cost page faults each batch);
  // each batch's input tensors are disposed before the next overwrites them.
  const cropBytes = crops.height * crops.width * 3, most = Math.min(batchSize, n);
  const bytes = new Uint8Array(most * cropBytes);
  const buffers = [new Float32Array(most * height * width * 3), new Float32Array(most * height * width * 3)];
  let original = new Float32Array(0), flipped = new Float32Array(0), dim = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start), size = count * height * width * 3;
    for (let i = 0; i < count; i++) {
      const into = bytes.subarray(i * cropBytes, (i + 1) * cropBytes);
      const got = crops.read(start + i, into);
      if (got !== into) into.set(got);
    }
    const inputs = size === buffers[0].length ? buffers : buffers.map((b) => b.subarray(0, size));
    normalise(bytes, inputs[0], inputs[1], count, crops.height, crops.width, margin);
    for (const [k, values] of inputs.entries()) {
      const f = tf.tidy(() => run(tf.tensor4d(values, [count, height, width, 3])) as tf.Tensor2D);
      if (dim === 0) {
        dim = f.shape[1];
        [original, flipped] = [new Float32Array(n * dim), new Float32Array(n * dim)];
      }
      (k === 0 ? original : flipped).set(f.dataSync() as Float32Array, start * dim);
      f.dispose();
    }
  }
  return { original, flipped, dim };
}
