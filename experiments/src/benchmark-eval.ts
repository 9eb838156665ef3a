// `sphereface eval`: a recorded run's model, or a published tfjs model, evaluated on insightface verification sets
// (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, …) with the same protocol code as LFW (@sphereface/eval's
// evaluateLfwProtocols), and on YouTube Faces (@sphereface/eval/ytf's video-mean protocol). A run's results are added to its record (the run ID does not change); a published model's go
// to <records>/evaluations/<evaluationId>.json. Not imported by the runner: evaluating never changes a run ID.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { contentHash, removeStaleTemporaryFiles, sha256Hex, writeFileAtomic } from '@sphereface/common';
import {
  alignmentTemplate,
  buildCropStore,
  BUILTIN_TEMPLATES,
  DataError,
  DEFAULT_JPEG_DECODER,
  decoderId,
  readVerificationBin,
  verificationBinHash,
  type CropItem,
  type CropSource,
  type JpegDecoder,
  type Point,
  type TemplateName,
} from '@sphereface/data';
import { hashTreeFiles, loadYtf, YTF_SPLITS_FILE, type YtfDataset, type YtfFaceBox } from '@sphereface/data/sources';
import { evaluateLfwProtocols, kFoldBounds, type ProtocolName } from '@sphereface/eval';
import { YTF_PROTOCOL_DESCRIPTION, YTF_PROTOCOL_NAME, ytfVideoMean } from '@sphereface/eval/ytf';
import { selectBackend, type BackendInfo } from '@sphereface/models';
import { readArtifact } from './artifacts';
import { moduleGraph } from './code-identity';
import { codeVersion } from './code-version';
import { PROTOCOLS } from './config';
import { environmentInfo, type EnvironmentInfo } from './environment';
import { embedCrops, gatherRows, type FeatureRows } from './features';
import { artifactsRoot } from './paths';
import {
  benchmarkEvaluationProblem,
  EVALUATIONS_DIR,
  readRecord,
  recordsDir,
  writeRecord,
  type BenchmarkEvaluation,
  type RecordedProtocol,
  type RunRecord,
} from './record';
import { acquireRunLock } from './run-lock';

/** This module: the entry of the evaluation's code identity. */
export const EVAL_ENTRY = 'experiments/src/benchmark-eval.ts';
/** The run lock file in a run's artifacts folder (training.ts's LOCK_FILE): eval and `run --force` never interleave. */
export const RUN_LOCK_FILE = 'run.lock';
/** As code-identity.ts: the native addon's sources count when it is the backend. */
const NATIVE_SOURCES = ['libs/native/src', 'libs/native/csrc', 'libs/native/binding.gyp'];

// ---------------------------------------------------------------------------------------------------------------
// Benchmarks: an insightface .bin, its images extracted once into a content-addressed folder.

/**
 * How a .bin image becomes a model's crop. A .bin image is 112×112, aligned with insightface's template
 * (INSIGHTFACE_TEMPLATE_SRC in @sphereface/data's align.ts). Its points are SphereFace's (SPHEREFACE_TEMPLATE_MATLAB)
 * + 8 px in x, as published; but SphereFace's are MATLAB 1-based and insightface's 0-based, so in one convention
 * (SPHEREFACE_TEMPLATE = MATLAB − 1) a .bin image holds SphereFace's 96×112 frame 9 px from its left edge and 1 px
 * down: the centre 112×96 (columns 8…103) is a SphereFace crop with the face 1 px right of and 1 px below where our
 * own alignment puts it (≈1 % of the crop). That crop is taken as it is (no resampling, no black row at the bottom),
 * the "up to the one-pixel origin difference" of templatePlacement in align.ts. A smaller crop of the same aspect
 * (56×48) is the centre crop resized, as our smaller crops are the 112×96 frame scaled; a square crop with either
 * template is the whole image (SphereFace's frame centred in a square is insightface's, templatePlacement). Other
 * combinations would need the frame padded, and are refused.
 * The crops come from the crop store with landmarks null: centreCrop (align.ts) at the crop size.
 */
export function benchmarkCropProblem(template: TemplateName, crop: readonly [number, number]): string | null {
  const [h, w] = crop;
  if (h === w) return null;
  if (template === 'sphereface-96x112' && h * 96 === w * 112) return null;
  return (
    `a ${h}×${w} crop with template ${template} is not a centre crop of a .bin image (insightface's 112×112 frame): ` +
    'supported are square crops with either template and 112:96 crops (112×96, 56×48) with sphereface-96x112'
  );
}

/** A verification .bin, named by its stem and identified by its sha256. */
export interface BinFile {
  name: string;
  kind: 'verification-bin';
  path: string;
  /** sha256 of the .bin file. */
  dataHash: string;
}

/**
 * A YouTube Faces root (splits.txt, frame_images_DB/), named 'ytf'; its data hash covers splits.txt, every frame used
 * (its sha256, hashed once and cached by path, size and mtime) with its face box, and the frame cap.
 */
export interface YtfRoot {
  name: 'ytf';
  kind: 'ytf';
  path: string;
  dataHash: string;
  pairs: number;
  dataset: YtfDataset;
  /** Frame rel → sha256. */
  sha256: Map<string, string>;
}

export type BenchmarkFile = BinFile | YtfRoot;

/** A verification set ready for the crop store: its images as files in a folder named by the file's sha256. */
export interface PreparedBenchmark extends BinFile {
  pairs: number;
  /** Per pair: images 2i and 2i+1 show the same person. */
  same: boolean[];
  imageDir: string;
  /** Image i is items[i] (landmarks null: centre-cropped). */
  items: CropItem[];
}

const EXTRACT_FORMAT = 'sphereface-verification-bin-images/1';
const EXTRACT_INDEX = 'images.json';

interface ExtractIndex {
  format: string;
  dataHash: string;
  same: boolean[];
  images: Array<{ file: string; sha256: string; bytes: number }>;
}

/** The data library's cache folder (its cacheDir, which is not exported): <repo>/.cache/sphereface-data. */
function defaultCache(root: string): string {
  return join(root, '.cache', 'sphereface-data');
}

const BENCHMARK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The benchmark at `path`: a .bin file (named by its stem, identified by its sha256, read in 1 MiB chunks) or a
 * YouTube Faces root (a folder holding splits.txt; `ytfMaxFrames` caps the frames per video, evenly spaced).
 */
export function benchmarkFile(path: string, opts: { root?: string; cache?: string; ytfMaxFrames?: number | null } = {}): BenchmarkFile {
  const file = resolve(path);
  if (existsSync(file) && statSync(file).isDirectory()) {
    if (!existsSync(join(file, YTF_SPLITS_FILE))) {
      throw new Error(`${file} is a folder without ${YTF_SPLITS_FILE}: a benchmark is an insightface verification .bin file or a YouTube Faces root`);
    }
    return ytfRoot(file, opts);
  }
  const name = basename(file, extname(file));
  if (!BENCHMARK_NAME.test(name)) throw new Error(`${file}: the benchmark is named by the file's stem, and '${name}' is not a usable name (letters, digits, '.', '_', '-')`);
  return { name, kind: 'verification-bin', path: file, dataHash: verificationBinHash(file) };
}

function ytfRoot(path: string, opts: { root?: string; cache?: string; ytfMaxFrames?: number | null }): YtfRoot {
  const maxFramesPerVideo = opts.ytfMaxFrames ?? null;
  const dataset = loadYtf(path, { maxFramesPerVideo });
  const frames = [...dataset.videos.values()].flatMap((v) => v.frames);
  const cacheFile = opts.cache ? join(opts.cache, 'source-hashes', `${sha256Hex(dataset.framesDir).slice(0, 16)}.json`) : undefined;
  const { sha256 } = hashTreeFiles(dataset.framesDir, frames.map((f) => f.rel), cacheFile ? { cacheFile } : {});
  const box = (g: YtfFaceBox | null) => (g ? [g.centerX, g.centerY, g.width, g.height] : null);
  const dataHash = contentHash({
    format: 'sphereface-ytf-view/1',
    splits: sha256Hex(readFileSync(dataset.splitsFile)),
    maxFramesPerVideo,
    frames: frames.map((f) => [f.rel, sha256.get(f.rel), box(f.geometry)]),
  });
  return { name: 'ytf', kind: 'ytf', path: dataset.root, dataHash, pairs: dataset.pairs.length, dataset, sha256 };
}

/**
 * Points that make the aligner cut a YTF face box: the template's points in the crop mapped into the frame by the
 * crop → box map (the box centre-cropped to the crop's aspect: s = min(box width / crop width, box height / crop
 * height) frame pixels per crop pixel, crop centre on box centre). The similarity fit through them is that map
 * exactly, so the crop is the box, resized. YTF has no landmarks: the faces are not aligned to the template, and the
 * box coordinates' pixel convention is unverified (a half-pixel at most).
 */
export function boxLandmarks(box: Pick<YtfFaceBox, 'centerX' | 'centerY' | 'width' | 'height'>, template: TemplateName, crop: readonly [number, number]): Point[] {
  const [h, w] = crop;
  const s = Math.min(box.width / w, box.height / h);
  return alignmentTemplate({ template, height: h, width: w }).map(([x, y]) => [box.centerX + (x + 0.5 - w / 2) * s, box.centerY + (y + 0.5 - h / 2) * s] as const);
}

/**
 * The benchmark's encoded images, written once to `<cache>/verification-bin/<sha256>/` (each file atomically, the
 * index last): a later evaluation of the same file reads the index instead of unpickling. The crop store then checks
 * every image's bytes against the sha256 listed.
 */
export function prepareVerificationBin(bench: BinFile, opts: { root: string; cache?: string; log?: (line: string) => void }): PreparedBenchmark {
  const { path: file, dataHash } = bench;
  const dir = join(opts.cache ?? defaultCache(opts.root), 'verification-bin', dataHash);
  let index = readExtractIndex(dir, dataHash);
  if (!index) {
    opts.log?.(`${bench.name}: reading ${file} and extracting its images into ${dir}`);
    const bin = readVerificationBin(file);
    if (bin.sha256 !== dataHash) throw new DataError(`the file changed since it was hashed (sha256 ${bin.sha256}, before ${dataHash})`, file);
    const images = bin.images.map((bytes, i) => {
      if (!(bytes[0] === 0xff && bytes[1] === 0xd8)) {
        throw new DataError(`image ${i} is not a JPEG (starts with ${Buffer.from(bytes.subarray(0, 4)).toString('hex')}); only JPEG images are decoded`, file);
      }
      const entry = { file: `${String(i).padStart(6, '0')}.jpg`, sha256: sha256Hex(bytes), bytes: bytes.length };
      writeFileAtomic(join(dir, entry.file), bytes);
      return entry;
    });
    index = { format: EXTRACT_FORMAT, dataHash, same: bin.same, images };
    writeFileAtomic(join(dir, EXTRACT_INDEX), `${JSON.stringify(index)}\n`);
    removeStaleTemporaryFiles(dir);
  }
  return {
    ...bench,
    pairs: index.same.length,
    same: index.same,
    imageDir: dir,
    items: index.images.map((im) => ({ rel: im.file, sha256: im.sha256, landmarks: null })),
  };
}

/** The index of a complete extraction, or null (none, another format, or a file missing or of another size). */
function readExtractIndex(dir: string, dataHash: string): ExtractIndex | null {
  let index: ExtractIndex;
  try {
    index = JSON.parse(readFileSync(join(dir, EXTRACT_INDEX), 'utf8')) as ExtractIndex;
  } catch {
    return null;
  }
  if (index.format !== EXTRACT_FORMAT || index.dataHash !== dataHash || index.images?.length !== 2 * index.same?.length) return null;
  for (const im of index.images) {
    const p = join(dir, im.file);
    if (!existsSync(p) || statSync(p).size !== im.bytes) return null;
  }
  return index;
}

// ---------------------------------------------------------------------------------------------------------------
// Models: a run's backbone, or a published tfjs LayersModel / GraphModel.

/** Pixel normalisations p ∈ 0…255 → model input. */
export const NORMALISATIONS = {
  /** SphereFace's (and this project's training): (p − 127.5)/128. */
  sphereface: (p: number) => (p - 127.5) / 128,
  /** insightface's: (p/255 − 0.5)/0.5. */
  insightface: (p: number) => (p / 255 - 0.5) / 0.5,
  unit: (p: number) => p / 255,
} as const;
export type Normalisation = keyof typeof NORMALISATIONS;
export const NORMALISATION_NAMES = Object.keys(NORMALISATIONS) as Normalisation[];

/** A model that maps [N, H, W, 3] float images to [N, D] features. */
export interface FaceModel {
  format: 'layers-model' | 'graph-model';
  /** The input [height, width] the model declares, where it does. */
  declaredInput: [number, number] | null;
  /** NCHW models (e.g. converted from PyTorch) get their input transposed. */
  layout: 'nhwc' | 'nchw';
  predict(images: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
  /** Repository-independent identity: sha256 of model.json and of each weights file. */
  files: Record<string, string>;
  /** The LayersModel, when it is one. */
  layers?: tf.LayersModel;
}

/** A tf.io handler over model.json and weight bytes already read (and hashed). */
function memoryHandler(json: tf.io.ModelJSON, weights: Uint8Array[]): tf.io.IOHandler {
  return {
    load: async () => {
      const buffers = weights.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      const manifest = json.weightsManifest ?? [];
      return tf.io.getModelArtifactsForJSON(json, async () => [manifest.flatMap((g) => g.weights), tf.io.CompositeArrayBuffer.join(buffers)]);
    },
  };
}

function parseModelJson(text: string, where: string): tf.io.ModelJSON {
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(text) as tf.io.ModelJSON;
  } catch (error) {
    throw new Error(`${where}: not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new Error(`${where}: no modelTopology: not a tfjs model.json`);
  return json;
}

/** 'graph-model' when model.json says so or holds a GraphDef (a `node` list); else a LayersModel. */
function modelFormat(json: tf.io.ModelJSON): FaceModel['format'] {
  const topology = json.modelTopology as { node?: unknown };
  return json.format === 'graph-model' || Array.isArray(topology.node) ? 'graph-model' : 'layers-model';
}

async function wrapModel(json: tf.io.ModelJSON, weights: Uint8Array[], files: Record<string, string>, where: string): Promise<FaceModel> {
  const format = modelFormat(json);
  const handler = memoryHandler(json, weights);
  let shape: ReadonlyArray<number | null | undefined> | undefined;
  let run: (x: tf.Tensor4D) => tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
  let dispose: () => void;
  let layers: tf.LayersModel | undefined;
  try {
    if (format === 'graph-model') {
      const model = await tf.loadGraphModel(handler);
      if (model.inputs.length !== 1) throw new Error(`it has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); one image input is needed`);
      shape = model.inputs[0].shape;
      run = (x) => model.predict(x);
      dispose = () => model.dispose();
    } else {
      const model = await tf.loadLayersModel(handler);
      if (model.inputs.length !== 1) throw new Error(`it has ${model.inputs.length} inputs; one image input is needed`);
      shape = model.inputs[0].shape;
      run = (x) => model.predict(x);
      dispose = () => model.dispose();
      layers = model;
    }
  } catch (error) {
    throw new Error(`${where}: cannot load the ${format}: ${(error as Error).message}`, { cause: error });
  }
  const dims = shape?.map((d) => (typeof d === 'number' && d > 0 ? d : null)) ?? [];
  const layout: FaceModel['layout'] = dims.length === 4 && dims[1] === 3 && dims[3] !== 3 ? 'nchw' : 'nhwc';
  const [hi, wi] = layout === 'nchw' ? [2, 3] : [1, 2];
  const declaredInput = dims.length === 4 && dims[hi] !== null && dims[wi] !== null ? ([dims[hi], dims[wi]] as [number, number]) : null;
  const predict = (images: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const out = run(layout === 'nchw' ? tf.transpose(images, [0, 3, 1, 2]) : images);
      const list = out instanceof tf.Tensor ? [out] : Array.isArray(out) ? out : Object.values(out);
      if (list.length !== 1) throw new Error(`${where}: the model has ${list.length} outputs; one feature output is needed`);
      const f = list[0];
      return (f.rank === 2 ? f : f.reshape([f.shape[0], -1])) as tf.Tensor2D;
    });
  return { format, declaredInput, layout, predict, dispose, files, ...(layers ? { layers } : {}) };
}

/** A published tfjs model folder: model.json (a LayersModel, or a GraphModel) and its weight files, hashed as read. */
export async function loadPublishedModel(dir: string): Promise<FaceModel> {
  const folder = resolve(dir);
  const jsonPath = join(folder, 'model.json');
  let text: Buffer;
  try {
    text = readFileSync(jsonPath);
  } catch (error) {
    throw new Error(`${folder}: no model.json (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): --model takes a tfjs model folder`, { cause: error });
  }
  const json = parseModelJson(text.toString('utf8'), jsonPath);
  const files: Record<string, string> = { 'model.json': sha256Hex(text) };
  const weights = (json.weightsManifest ?? []).flatMap((group) =>
    group.paths.map((p) => {
      const path = join(folder, p);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(path));
      } catch (error) {
        throw new Error(`${jsonPath} names the weights file ${p}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
      }
      files[p] = sha256Hex(bytes);
      return bytes;
    }),
  );
  return wrapModel(json, weights, files, folder);
}

/** A recorded run's backbone, from its artifacts (each checked against the record's sha256). */
export async function loadRunBackbone(record: RunRecord, root: string): Promise<FaceModel> {
  const json = parseModelJson(new TextDecoder().decode(readArtifact(record, 'backbone/model.json', root)), `run ${record.runId} backbone/model.json`);
  const weights = (json.weightsManifest ?? []).flatMap((g) => g.paths.map((p) => readArtifact(record, `backbone/${p}`, root)));
  const files = Object.fromEntries(record.artifacts.filter((a) => a.name.startsWith('backbone/')).map((a) => [a.name, a.sha256]));
  return wrapModel(json, weights, files, `run ${record.runId} backbone`);
}

/** Features of the original and the mirrored crops, [N, D] each, in chunks; pixels normalised by `normalise`. */
export function embedWithModel(model: FaceModel, crops: CropSource, normalise: Normalisation, chunk = 64): { original: Float32Array; flipped: Float32Array; dim: number } {
  const lut = Float32Array.from({ length: 256 }, (_, p) => NORMALISATIONS[normalise](p));
  const { count: n, height: h, width: w } = crops;
  const size = h * w * 3;
  let original = new Float32Array(0);
  let flipped = new Float32Array(0);
  let dim = 0;
  const crop = new Uint8Array(size);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    // Rows 0…count−1 the crops, count…2·count−1 their mirror images.
    const x = new Float32Array(2 * count * size);
    for (let k = 0; k < count; k++) {
      crops.read(start + k, crop);
      const o = k * size, m = (count + k) * size;
      for (let y = 0; y < h; y++) {
        for (let c = 0; c < w; c++) {
          const s = (y * w + c) * 3, d = (y * w + (w - 1 - c)) * 3;
          for (let ch = 0; ch < 3; ch++) {
            x[o + s + ch] = lut[crop[s + ch]];
            x[m + d + ch] = lut[crop[s + ch]];
          }
        }
      }
    }
    const features = tf.tidy(() => model.predict(tf.tensor4d(x, [2 * count, h, w, 3])));
    const data = features.dataSync() as Float32Array;
    const d = features.shape[1];
    features.dispose();
    if (start === 0) {
      dim = d;
      original = new Float32Array(n * d);
      flipped = new Float32Array(n * d);
    } else if (d !== dim) throw new Error(`the model's features changed size from ${dim} to ${d}`);
    original.set(data.subarray(0, count * d), start * d);
    flipped.set(data.subarray(count * d), start * d);
  }
  return { original, flipped, dim };
}

/** How a benchmark's images are cut and normalised for a model. */
export interface BenchmarkInput {
  crop: [number, number];
  template: TemplateName;
  decoder: JpegDecoder;
  normalise: Normalisation;
}

/**
 * The benchmark's crops (from the crop store, built once per image set and crop) and their features. A run's
 * backbone with SphereFace's normalisation goes through features.ts's embedCrops, as LFW's features do.
 */
export async function benchmarkFeatures(
  model: FaceModel,
  bench: PreparedBenchmark,
  input: BenchmarkInput,
  opts: { cache?: string; viaEmbedCrops?: boolean } = {},
): Promise<{ original: Float32Array; flipped: Float32Array; dim: number }> {
  const problem = benchmarkCropProblem(input.template, input.crop);
  if (problem) throw new Error(`${bench.name}: ${problem}`);
  const [height, width] = input.crop;
  const store = await buildCropStore(bench.imageDir, bench.items, {
    align: { height, width, template: input.template, decoder: input.decoder },
    ...(opts.cache ? { dir: join(opts.cache, 'crop-store') } : {}),
  });
  try {
    if (store.count !== bench.items.length) throw new Error(`${bench.name}: ${bench.items.length - store.count} images could not be cropped`);
    return embedStore(model, store, input, opts.viaEmbedCrops ?? false);
  } finally {
    store.close();
  }
}

function embedStore(model: FaceModel, store: CropSource, input: BenchmarkInput, viaEmbedCrops: boolean): { original: Float32Array; flipped: Float32Array; dim: number } {
  if (viaEmbedCrops && model.layers && input.normalise === 'sphereface') return embedCrops(model.layers, store);
  return embedWithModel(model, store, input.normalise);
}

/**
 * Per YTF video, one row per kept frame: the frame's box cut to the crop (boxLandmarks), the feature concat(f(frame),
 * f(mirrored frame)) as SphereFace's test feature. A frame the aligner refuses (its box reaching out of the frame) is
 * left out and counted; a video left without frames is an error.
 */
export async function ytfFeatures(
  model: FaceModel,
  bench: YtfRoot,
  input: BenchmarkInput,
  opts: { cache?: string; viaEmbedCrops?: boolean } = {},
): Promise<{ frames: Map<string, FeatureRows>; skipped: number }> {
  const { dataset } = bench;
  const videos = [...dataset.videos.values()];
  const items: CropItem[] = videos.flatMap((v) =>
    v.frames.map((f) => {
      if (!f.geometry) throw new Error(`ytf: frame ${f.path} has no face box`);
      return { rel: f.rel, sha256: bench.sha256.get(f.rel), landmarks: boxLandmarks(f.geometry, input.template, input.crop) };
    }),
  );
  const owner = videos.flatMap((v) => v.frames.map(() => v.id));
  const [height, width] = input.crop;
  const store = await buildCropStore(dataset.framesDir, items, {
    align: { height, width, template: input.template, decoder: input.decoder },
    onBad: 'skip',
    ...(opts.cache ? { dir: join(opts.cache, 'crop-store') } : {}),
  });
  let embedded;
  try {
    embedded = embedStore(model, store, input, opts.viaEmbedCrops ?? false);
  } finally {
    store.close();
  }
  const { original, flipped, dim } = embedded;
  const rowsOf = new Map<string, number[]>();
  store.kept.forEach((item, row) => rowsOf.set(owner[item], [...(rowsOf.get(owner[item]) ?? []), row]));
  const frames = new Map<string, FeatureRows>();
  for (const v of videos) {
    const rows = rowsOf.get(v.id);
    if (!rows) throw new Error(`ytf: no frame of video ${v.id} could be cropped (${store.skipped.find((k) => k.file.includes(`/${v.id}/`))?.reason ?? 'all skipped'})`);
    const data = new Float32Array(rows.length * 2 * dim);
    rows.forEach((r, i) => {
      data.set(original.subarray(r * dim, (r + 1) * dim), i * 2 * dim);
      data.set(flipped.subarray(r * dim, (r + 1) * dim), i * 2 * dim + dim);
    });
    frames.set(v.id, { rows: rows.length, cols: 2 * dim, data });
  }
  return { frames, skipped: store.skipped.length };
}

/** What one benchmark evaluation produced. */
export interface BenchmarkResult {
  pairs: number;
  protocols: RecordedProtocol[];
  verification: Record<string, number>;
}

/** The YTF protocol (@sphereface/eval/ytf's ytfVideoMean) on the frame features, named `ytf/ytf-video-mean`. */
export function evaluateYtf(bench: YtfRoot, frames: Map<string, FeatureRows>): BenchmarkResult {
  const r = ytfVideoMean({ pairs: bench.dataset.pairs, frames });
  const verification: Record<string, number> = { auc: r.metrics.auc, eer: r.metrics.eer };
  for (const { far, tar } of r.metrics.tarAtFar) verification[`tar@far=${far}`] = tar;
  const description = `${YTF_PROTOCOL_DESCRIPTION}; frame feature concat(original, mirrored), the frame's face box resized to the crop`;
  return { pairs: r.pairs, protocols: [{ protocol: `${bench.name}/${YTF_PROTOCOL_NAME}`, description, mean: r.accuracy, std: r.std, foldAccuracies: r.foldAccuracies }], verification };
}

/** One benchmark with one model: crops, features, protocols. */
export async function runBenchmark(
  model: FaceModel,
  file: BenchmarkFile,
  input: BenchmarkInput,
  opts: { root: string; cache?: string; viaEmbedCrops?: boolean; log?: (line: string) => void },
): Promise<BenchmarkResult> {
  if (file.kind === 'ytf') {
    const { frames, skipped } = await ytfFeatures(model, file, input, opts);
    if (skipped) opts.log?.(`ytf: ${skipped} frames left out (their boxes could not be cut)`);
    return evaluateYtf(file, frames);
  }
  const bench = prepareVerificationBin(file, opts);
  const features = await benchmarkFeatures(model, bench, input, opts);
  return { pairs: bench.pairs, ...evaluateBenchmark(bench.name, features, bench.same) };
}

/** The LFW protocols on a verification set's features (pair i = rows 2i, 2i+1; 10 folds of consecutive pairs), named `<benchmark>/<protocol>`. */
export function evaluateBenchmark(
  name: string,
  features: { original: Float32Array; flipped: Float32Array; dim: number },
  same: readonly boolean[],
  protocols: readonly ProtocolName[] = PROTOCOLS,
): { protocols: Array<RecordedProtocol & { thresholds: number[] }>; verification: Record<string, number> } {
  const { original, flipped, dim } = features;
  const n = same.length;
  if (original.length !== 2 * n * dim) throw new Error(`${name}: ${original.length / dim} feature rows for ${n} pairs`);
  const left = Array.from({ length: n }, (_, i) => 2 * i);
  const right = Array.from({ length: n }, (_, i) => 2 * i + 1);
  // sklearn KFold(10) as insightface: consecutive folds, the first n mod 10 one pair longer (equal when 10 | n).
  const fold = new Array<number>(n);
  kFoldBounds(n, 10).forEach(([lo, hi], f) => fold.fill(f, lo, hi));
  const report = evaluateLfwProtocols({
    leftOriginal: gatherRows(original, dim, left),
    leftFlipped: gatherRows(flipped, dim, left),
    rightOriginal: gatherRows(original, dim, right),
    rightFlipped: gatherRows(flipped, dim, right),
    same,
    fold,
  });
  const recorded = report.protocols
    .filter((p) => protocols.includes(p.name))
    .map((p) => ({ protocol: `${name}/${p.name}`, description: p.description, mean: p.accuracy, std: p.std ?? 0, foldAccuracies: p.foldAccuracies ?? [], thresholds: p.thresholds }));
  const canonical = report.protocols.find((p) => p.name === 'canonical')!;
  const verification: Record<string, number> = { auc: canonical.metrics.auc, eer: canonical.metrics.eer };
  for (const { far, tar } of canonical.metrics.tarAtFar) verification[`tar@far=${far}`] = tar;
  return { protocols: recorded, verification };
}

// ---------------------------------------------------------------------------------------------------------------
// Identity and records.

/** The evaluation's code identity: its module graph from EVAL_ENTRY, the lockfile, the native sources on native. */
export function evaluationCode(root: string, backend: string): { hash: string; files: Record<string, string> } {
  const paths = new Set([...moduleGraph(root, EVAL_ENTRY), 'package-lock.json']);
  if (backend === 'native') for (const source of NATIVE_SOURCES) for (const f of filesUnder(root, source)) paths.add(f);
  const files: Record<string, string> = {};
  for (const path of [...paths].sort()) files[path] = sha256Hex(readFileSync(join(root, path))).slice(0, 16);
  return { hash: sha256Hex(Object.entries(files).map(([p, h]) => `${p}\0${h}\n`).join('')), files };
}

function filesUnder(root: string, path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full).flatMap((name) => filesUnder(root, join(path, name))).filter((f) => !/\.test\.[cm]?[jt]s$|\/testing\//.test(f));
}

/** The protocols a benchmark is evaluated with: LFW's four for a .bin, the video protocol for YTF. */
function protocolsOf(bench: BenchmarkFile): readonly string[] {
  return bench.kind === 'ytf' ? [YTF_PROTOCOL_NAME] : PROTOCOLS;
}

/** The evaluation ID: what determines the result, hashed. */
export function evaluationIdOf(identity: EvaluationIdentity): string {
  return contentHash(identity).slice(0, 16);
}

export interface EvaluationIdentity {
  /** A run (its ID covers its weights) or a published model (the sha256 of its files). */
  model: { runId: string } | { format: FaceModel['format']; files: Record<string, string> };
  benchmark: { kind: BenchmarkFile['kind']; dataHash: string };
  input: { crop: [number, number]; template: TemplateName; decoder: string; normalise: Normalisation };
  protocols: readonly string[];
  code: string;
  backend: string;
}

function entryFor(bench: BenchmarkFile, input: BenchmarkInput, identity: EvaluationIdentity, result: BenchmarkResult, started: number, root: string): BenchmarkEvaluation {
  const git = codeVersion(root);
  return {
    name: bench.name,
    kind: bench.kind,
    dataHash: bench.dataHash,
    pairs: result.pairs,
    evaluationId: evaluationIdOf(identity),
    input: { crop: input.crop, template: input.template, decoder: input.decoder, normalise: input.normalise },
    protocols: result.protocols.map(({ protocol, description, mean, std, foldAccuracies }) => ({ protocol, description, mean, std, foldAccuracies })),
    verification: result.verification,
    evaluatedAt: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    backend: identity.backend,
    code: { hash: identity.code, commit: git.commit, dirty: git.dirty },
  };
}

export interface EvalOptions {
  root: string;
  benchmarks: string[];
  /** Evaluate again even when the evaluation ID is recorded. */
  force?: boolean;
  log?: (line: string) => void;
  /** Cache folder for extracted images and crop stores (default the data library's .cache/sphereface-data). */
  cache?: string;
  backend?: BackendInfo;
  /** YTF roots: at most this many frames per video, evenly spaced (default all). */
  ytfMaxFrames?: number | null;
}

export interface EvalOutcome {
  entry: BenchmarkEvaluation;
  /** True when the recorded result was replayed. */
  replayed: boolean;
}

/** What a run's crops are: its config's crop, SphereFace's template (as views.ts aligns every run), its decoder. */
export function runInput(record: RunRecord): BenchmarkInput {
  const c = record.identity.config;
  return { crop: [c.data.crop[0], c.data.crop[1]], template: 'sphereface-96x112', decoder: c.data.jpegDecoder ?? DEFAULT_JPEG_DECODER, normalise: 'sphereface' };
}

/**
 * `sphereface eval <run-id> --benchmark PATH…`: each benchmark evaluated with the run's backbone and added to its
 * record as `benchmarks[]` (one entry per benchmark name: a new evaluation replaces the entry of the same name); the
 * record is rewritten atomically after each benchmark, under the run's lock. An evaluation ID already recorded is
 * replayed unless `force`.
 */
export async function evaluateRun(runIdPrefix: string, options: EvalOptions): Promise<{ record: RunRecord; outcomes: EvalOutcome[] }> {
  const { root } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  let record = readRecord(root, runIdPrefix);
  const runId = record.runId;
  if (record.failure) throw new Error(`run ${runId} failed in training (${record.failure.diagnosis}): it has no model to evaluate`);
  const backend = options.backend ?? (await selectBackend({ log }));
  const input = runInput(record);
  const code = evaluationCode(root, backend.tfBackend);
  const benches = options.benchmarks.map((path) => benchmarkFile(path, { root, cache: options.cache, ytfMaxFrames: options.ytfMaxFrames }));
  const names = benches.map((b) => b.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`two benchmarks are named ${twice}: their protocols would have the same names`);

  const identityOf = (bench: BenchmarkFile): EvaluationIdentity => ({
    model: { runId },
    benchmark: { kind: bench.kind, dataHash: bench.dataHash },
    input: { ...input, decoder: decoderId(input.decoder) },
    protocols: protocolsOf(bench),
    code: code.hash,
    backend: backend.tfBackend,
  });
  const recorded = (r: RunRecord, bench: BenchmarkFile) => r.benchmarks?.find((b) => b.evaluationId === evaluationIdOf(identityOf(bench)));
  const outcomes: EvalOutcome[] = [];
  const todo: BenchmarkFile[] = [];
  for (const bench of benches) {
    const found = options.force ? undefined : recorded(record, bench);
    if (found) {
      log(`run ${runId}: ${bench.name} already evaluated (evaluation ${found.evaluationId}, ${found.evaluatedAt}): replaying the recorded result; --force evaluates it again`);
      outcomes.push({ entry: found, replayed: true });
    } else todo.push(bench);
  }
  if (todo.length === 0) return { record, outcomes };

  readArtifact(record, 'backbone/model.json', root); // a missing artifacts folder is named before the lock is tried there
  const lock = acquireRunLock(join(artifactsRoot(root), runId, RUN_LOCK_FILE), `run ${runId}`);
  let model: FaceModel | undefined;
  try {
    record = readRecord(root, runId); // as it is now that no other process writes it
    model = await loadRunBackbone(record, root);
    for (const file of todo) {
      const identity = identityOf(file);
      const started = Date.now();
      log(`run ${runId}: evaluating ${file.name} (${file.path}, crops ${input.crop.join('×')})`);
      const result = await runBenchmark(model, file, input, { root, cache: options.cache, viaEmbedCrops: true, log });
      const entry = entryFor(file, input, identity, result, started, root);
      const before = record.benchmarks?.find((b) => b.name === file.name);
      if (before && before.evaluationId !== entry.evaluationId) log(`run ${runId}: ${file.name}: replacing evaluation ${before.evaluationId} (${before.evaluatedAt}, data ${before.dataHash.slice(0, 12)})`);
      record = { ...record, benchmarks: [...(record.benchmarks ?? []).filter((b) => b.name !== file.name), entry] };
      const path = writeRecord(root, record);
      log(`run ${runId}: ${file.name} added to ${path}`);
      outcomes.push({ entry, replayed: false });
    }
  } finally {
    model?.dispose();
    lock.release();
  }
  // In the order asked.
  outcomes.sort((a, b) => names.indexOf(a.entry.name) - names.indexOf(b.entry.name));
  return { record, outcomes };
}

export const EVALUATION_SCHEMA = 'sphereface-ts/evaluation-record@1';

/** The record of a published model evaluated on one benchmark: <records>/evaluations/<evaluationId>.json. */
export interface EvaluationRecord {
  schema: typeof EVALUATION_SCHEMA;
  evaluationId: string;
  identity: EvaluationIdentity;
  model: { dir: string; format: FaceModel['format']; layout: FaceModel['layout']; declaredInput: [number, number] | null };
  benchmark: BenchmarkEvaluation & { path: string };
  backend: BackendInfo;
  environment: EnvironmentInfo;
  /** The evaluation code's files with their (shortened) sha256. */
  codeFiles: Record<string, string>;
}

export function evaluationRecordPath(root: string, evaluationId: string): string {
  return join(recordsDir(root), EVALUATIONS_DIR, `${evaluationId}.json`);
}

export function validateEvaluationRecord(value: unknown, where: string): EvaluationRecord {
  const r = value as EvaluationRecord;
  const fail = (what: string): never => {
    throw new Error(`${where}: not a valid evaluation record: ${what}`);
  };
  if (!r || typeof r !== 'object') fail('not an object');
  if (r.schema !== EVALUATION_SCHEMA) fail(`schema is ${String(r.schema)}, expected ${EVALUATION_SCHEMA}`);
  if (!r.identity || evaluationIdOf(r.identity) !== r.evaluationId) fail(`evaluationId ${r.evaluationId} does not match the hash of its identity`);
  const problem = benchmarkEvaluationProblem(r.benchmark);
  if (problem) fail(`benchmark: ${problem}`);
  if (r.benchmark.evaluationId !== r.evaluationId) fail('benchmark.evaluationId differs from evaluationId');
  return r;
}

export function readEvaluationRecord(root: string, evaluationId: string): EvaluationRecord | null {
  const path = evaluationRecordPath(root, evaluationId);
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message}): the record is damaged; --force evaluates again`, { cause: error });
  }
  return validateEvaluationRecord(value, path);
}

function writeEvaluationRecord(root: string, record: EvaluationRecord): string {
  validateEvaluationRecord(record, 'evaluation record to write');
  const path = evaluationRecordPath(root, record.evaluationId);
  try {
    writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    throw new Error(`cannot write the evaluation record ${path}: ${(error as Error).message}`, { cause: error });
  }
  removeStaleTemporaryFiles(dirname(path));
  return path;
}

export interface PublishedModelSpec {
  dir: string;
  /** [height, width] of the model's input. */
  input: [number, number];
  normalise: Normalisation;
  /** Default: insightface-112x112 for square inputs, else sphereface-96x112. */
  template?: TemplateName;
}

export function defaultTemplate(input: readonly [number, number]): TemplateName {
  return input[0] === input[1] ? 'insightface-112x112' : 'sphereface-96x112';
}

/**
 * `sphereface eval --model DIR --input HxW --normalise N [--template T] --benchmark PATH…`: a published tfjs model on
 * each benchmark; each evaluation written to <records>/evaluations/<evaluationId>.json, replayed when recorded.
 */
export async function evaluatePublishedModel(spec: PublishedModelSpec, options: EvalOptions): Promise<Array<EvalOutcome & { record: EvaluationRecord; path: string }>> {
  const { root } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const template = spec.template ?? defaultTemplate(spec.input);
  if (!Object.hasOwn(BUILTIN_TEMPLATES, template)) throw new Error(`unknown template '${template}' (${Object.keys(BUILTIN_TEMPLATES).join(', ')})`);
  if (!NORMALISATION_NAMES.includes(spec.normalise)) throw new Error(`unknown normalisation '${spec.normalise}' (${NORMALISATION_NAMES.join(', ')})`);
  const input: BenchmarkInput = { crop: spec.input, template, decoder: DEFAULT_JPEG_DECODER, normalise: spec.normalise };
  const backend = options.backend ?? (await selectBackend({ log }));
  const model = await loadPublishedModel(spec.dir);
  try {
    if (model.declaredInput && (model.declaredInput[0] !== spec.input[0] || model.declaredInput[1] !== spec.input[1])) {
      throw new Error(`${resolve(spec.dir)} declares an input of ${model.declaredInput.join('×')}, not the --input ${spec.input.join('×')} given`);
    }
    const code = evaluationCode(root, backend.tfBackend);
    const outcomes: Array<EvalOutcome & { record: EvaluationRecord; path: string }> = [];
    for (const path of options.benchmarks) {
      const file = benchmarkFile(path, { root, cache: options.cache, ytfMaxFrames: options.ytfMaxFrames });
      const identity: EvaluationIdentity = {
        model: { format: model.format, files: model.files },
        benchmark: { kind: file.kind, dataHash: file.dataHash },
        input: { ...input, decoder: decoderId(input.decoder) },
        protocols: protocolsOf(file),
        code: code.hash,
        backend: backend.tfBackend,
      };
      const evaluationId = evaluationIdOf(identity);
      const found = options.force ? null : readEvaluationRecord(root, evaluationId);
      if (found) {
        log(`${file.name} already evaluated with this model (evaluation ${evaluationId}, ${found.benchmark.evaluatedAt}): replaying; --force evaluates it again`);
        outcomes.push({ entry: found.benchmark, replayed: true, record: found, path: evaluationRecordPath(root, evaluationId) });
        continue;
      }
      const started = Date.now();
      log(`evaluating ${model.format} ${resolve(spec.dir)} on ${file.name} (${file.path}, ${spec.input.join('×')}, ${template}, ${spec.normalise})`);
      const result = await runBenchmark(model, file, input, { root, cache: options.cache, log });
      const entry = entryFor(file, input, identity, result, started, root);
      const record: EvaluationRecord = {
        schema: EVALUATION_SCHEMA,
        evaluationId,
        identity,
        model: { dir: resolve(spec.dir), format: model.format, layout: model.layout, declaredInput: model.declaredInput },
        benchmark: { ...entry, path: file.path },
        backend,
        environment: environmentInfo(),
        codeFiles: code.files,
      };
      const written = writeEvaluationRecord(root, record);
      log(`evaluation record written: ${written}`);
      outcomes.push({ entry, replayed: false, record, path: written });
    }
    return outcomes;
  } finally {
    model.dispose();
  }
}
