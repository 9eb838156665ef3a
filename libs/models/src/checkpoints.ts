import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive, removeStaleTemporaryFiles, sha256Hex, writeFileAtomic } from '@sphereface/common';
import { fileSystemHandler } from './io';

/**
 * Training checkpoints. `<dir>/ckpt-<iteration>/` holds `backbone/` and `head/` (model.json + weights.bin),
 * `optimizer.bin` (momentum buffers) and `state.json` (iteration, RNG, data position, health counter, config, and
 * the sha256 of every other file). A checkpoint is written to `.tmp-ckpt-…-<pid>/` and renamed into place; then
 * `latest.json` is replaced atomically. The newest `keep` checkpoints up to the one just written are kept, so the
 * previous one is there to fall back to when the newest turns out damaged.
 */
export const STATE_FILE = 'state.json';
export const OPTIMIZER_FILE = 'optimizer.bin';
export const LATEST_FILE = 'latest.json';
const MODEL_PARTS = ['backbone', 'head'] as const;
const MODEL_FILES = ['model.json', 'weights.bin'] as const;

/** A checkpoint (or latest.json) that cannot be used; `file` is the damaged or missing file. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${problem}`, options);
    this.name = 'CheckpointError';
  }
}

export interface CheckpointState {
  iteration: number;
  /** The batch provider's position (order, augmentation generators): all of a run's randomness after initialisation. */
  data: unknown;
  health: { atLnC: number };
  optimizer: { type: 'sgd-caffe'; specs: tf.io.WeightsManifestEntry[] };
  config: unknown;
  /** sha256 of the checkpoint's other files by relative path (absent in checkpoints written before it was added). */
  files?: Record<string, string>;
}

/** What the trainer puts in a checkpoint. */
export interface CheckpointContents extends Omit<CheckpointState, 'optimizer' | 'files'> {
  backbone: tf.LayersModel;
  headModel: tf.LayersModel;
  velocities: Array<{ name: string; tensor: tf.Tensor }>;
}

/** A checkpoint read and checked against the models it is for; nothing has been applied yet. */
export interface LoadedCheckpoint {
  path: string;
  state: CheckpointState;
  /** Weights in the order of `getWeights()` of the backbone and the head. */
  backbone: tf.Tensor[];
  head: tf.Tensor[];
  velocities: tf.NamedTensorMap;
  dispose(): void;
}

export function checkpointName(iteration: number): string {
  return `ckpt-${String(iteration).padStart(8, '0')}`;
}

const CHECKPOINT_DIR = /^ckpt-(\d+)$/;

/** The complete-looking checkpoint folders in `dir`, newest first. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => CHECKPOINT_DIR.test(d))
    .sort()
    .reverse()
    .map((d) => join(dir, d));
}

/** Path of the checkpoint `latest.json` names, or null when there is none; an unreadable latest.json is named. */
export function latestCheckpoint(dir: string): string | null {
  const pointer = join(dir, LATEST_FILE);
  if (!existsSync(pointer)) return null;
  const { name } = readJson(pointer) as { name?: unknown };
  if (typeof name !== 'string' || !CHECKPOINT_DIR.test(name)) throw new CheckpointError(pointer, `does not name a checkpoint folder (name: ${JSON.stringify(name)})`);
  return join(dir, name);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CheckpointError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(path, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CheckpointError(path, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message, { cause: error });
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the specs describe, or null when a dtype has no fixed size (strings). */
function specBytes(specs: tf.io.WeightsManifestEntry[]): number | null {
  let total = 0;
  for (const spec of specs) {
    const bytes = DTYPE_BYTES[spec.quantization?.dtype ?? spec.dtype];
    if (bytes === undefined) return null;
    total += spec.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  return total;
}

/** The PID of the writer of a checkpoint's temporary folder (`.tmp-ckpt-…-<pid>`); null for other names. */
function checkpointWriterPid(name: string): number | null {
  const match = /^\.tmp-ckpt-\d+-(\d+)$/.exec(name);
  return match ? Number(match[1]) : null;
}

/**
 * Writes a checkpoint and moves latest.json to it; then removes checkpoints newer than it (an earlier attempt's,
 * superseded) and all but the newest `keep` older ones, and what killed writers left. A write that fails names the
 * checkpoint and the file or folder being written.
 */
export async function writeCheckpoint(dir: string, contents: CheckpointContents, keep: number): Promise<string> {
  const name = checkpointName(contents.iteration);
  const final = join(dir, name);
  const tmp = join(dir, `.tmp-${name}-${process.pid}`);
  let writing = dir;
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    const files: Record<string, string> = {};
    for (const [model, part] of [[contents.backbone, 'backbone'], [contents.headModel, 'head']] as const) {
      writing = join(tmp, part);
      await model.save(fileSystemHandler(writing));
      for (const file of MODEL_FILES) files[`${part}/${file}`] = sha256Hex(readFileSync(join(writing, file)));
    }
    const { data, specs } = await tf.io.encodeWeights(contents.velocities);
    const optimizer = new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
    writing = join(tmp, OPTIMIZER_FILE);
    writeFileSync(writing, optimizer);
    files[OPTIMIZER_FILE] = sha256Hex(optimizer);
    const { backbone: _b, headModel: _h, velocities: _v, ...rest } = contents;
    const state: CheckpointState = { ...rest, optimizer: { type: 'sgd-caffe', specs }, files };
    writing = join(tmp, STATE_FILE);
    writeFileSync(writing, JSON.stringify(state, null, 1));
    writing = final;
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    writing = join(dir, LATEST_FILE);
    writeFileAtomic(writing, JSON.stringify({ name, iteration: contents.iteration }));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const hint = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? `; free space on the device that holds ${dir}` : '';
    throw new Error(`checkpoint ${final} could not be written (${writing}: ${e.message})${hint}`, { cause: error });
  }
  const entries = readdirSync(dir);
  const iterationOf = (d: string) => Number(CHECKPOINT_DIR.exec(d)![1]);
  const checkpoints = entries.filter((d) => CHECKPOINT_DIR.test(d)).sort();
  const newer = checkpoints.filter((d) => iterationOf(d) > contents.iteration);
  const older = checkpoints.filter((d) => iterationOf(d) <= contents.iteration).slice(0, -keep);
  // Our own leftovers are from a write of this process that failed; no write is under way while this runs.
  const stale = entries.filter((d) => {
    const pid = checkpointWriterPid(d);
    return pid !== null && (pid === process.pid || !processAlive(pid));
  });
  for (const d of [...newer, ...older, ...stale]) rmSync(join(dir, d), { recursive: true, force: true });
  removeStaleTemporaryFiles(dir); // latest.json's
  return final;
}

/**
 * Reads a checkpoint and checks it against the models and parameter names it is to be restored into: every file
 * present, whole (sizes, and the sha256 in state.json when it has them) and of the right shapes. Throws a
 * CheckpointError naming the first bad file; the caller's models are not touched.
 */
export async function readCheckpoint(
  path: string,
  target: { backbone: tf.LayersModel; headModel: tf.LayersModel; paramNames: string[] },
): Promise<LoadedCheckpoint> {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new CheckpointError(path, 'missing (not a checkpoint folder)');
  const statePath = join(path, STATE_FILE);
  const state = readJson(statePath) as CheckpointState;
  if (!state || typeof state !== 'object' || !Number.isInteger(state.iteration) || state.iteration < 0 || !Array.isArray(state.optimizer?.specs)) {
    throw new CheckpointError(statePath, 'not a checkpoint state (no iteration or optimizer specs)');
  }
  /** A file's bytes, checked against the size its manifest implies (when given), then the sha256 in state.json. */
  const checked = (relative: string, size?: () => number | null): Buffer => {
    const file = join(path, relative);
    const data = readBytes(file);
    const expectedSize = size?.() ?? null;
    if (expectedSize !== null && data.byteLength !== expectedSize) {
      throw new CheckpointError(file, `${data.byteLength} bytes where its manifest lists ${expectedSize} (cut short or damaged)`);
    }
    const expected = state.files?.[relative];
    if (expected !== undefined && sha256Hex(data) !== expected) throw new CheckpointError(file, `damaged: its sha256 differs from the one in ${statePath}`);
    return data;
  };
  const tensors: tf.Tensor[] = [];
  try {
    const weights: Record<(typeof MODEL_PARTS)[number], tf.Tensor[]> = { backbone: [], head: [] };
    for (const part of MODEL_PARTS) {
      const model = part === 'backbone' ? target.backbone : target.headModel;
      const folder = join(path, part);
      const json = readJson(join(folder, 'model.json')) as tf.io.ModelJSON;
      checked(`${part}/model.json`);
      checked(`${part}/weights.bin`, () => specBytes((json.weightsManifest ?? []).flatMap((g) => g.weights)));
      let loaded: tf.LayersModel;
      try {
        loaded = await tf.loadLayersModel(fileSystemHandler(folder));
      } catch (error) {
        throw new CheckpointError(folder, `cannot be loaded: ${(error as Error).message}`, { cause: error });
      }
      const values = loaded.getWeights().map((w) => w.clone());
      loaded.dispose();
      tensors.push(...values);
      const own = model.getWeights();
      const mismatch = own.length !== values.length || own.some((w, i) => !tf.util.arraysEqual(w.shape, values[i].shape));
      if (mismatch) throw new CheckpointError(folder, `does not match this model's architecture (${values.length} weights, the model has ${own.length} or other shapes)`);
      weights[part] = values;
    }
    const names = state.optimizer.specs.map((s) => s.name);
    if (JSON.stringify(names) !== JSON.stringify(target.paramNames)) throw new CheckpointError(statePath, 'its optimizer state lists other parameters than this trainer');
    const buf = checked(OPTIMIZER_FILE, () => specBytes(state.optimizer.specs));
    const velocities = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, state.optimizer.specs);
    tensors.push(...Object.values(velocities));
    return { path, state, backbone: weights.backbone, head: weights.head, velocities, dispose: () => tf.dispose(tensors) };
  } catch (error) {
    tf.dispose(tensors);
    throw error;
  }
}
