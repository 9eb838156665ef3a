import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import {
  cropsToTensor,
  datasetViewHash,
  LANDMARK_SOURCES,
  loadCelebaSubset,
  loadCrops,
  loadLfwPairs,
  pairImages,
  pairsViewHash,
  type CropSet,
  type IdentityDataset,
  type LfwPairsWithData,
} from '@sphereface/data';
import { angularFisherScore, evaluateLfwProtocols } from '@sphereface/eval';
import {
  ArrayBatchProvider,
  createModel,
  extractEmbeddings,
  fileSystemHandler,
  listModels,
  marginHeadModel,
  readTrainLog,
  selectBackend,
  Trainer,
  TrainingHealthError,
  type IterationRecord,
} from '@sphereface/models';
import { contentHash, sha256Hex, writeFileAtomic } from '@sphereface/common';
import { validateConfig, type ExperimentConfig, type Profile } from './config';
import { codeVersion } from './code-version';
import { getExperiment, resolveConfig } from './definitions';
import { environmentInfo } from './environment';
import { artifactsRoot } from './paths';
import { isRecorded, readRecord, recordPath, RECORD_SCHEMA, runIdOf, writeRecord, type ArtifactRef, type RunIdentity, type RunRecord } from './record';
import { acquireRunLock } from './run-lock';

export interface RunOptions {
  root: string;
  experiment: string;
  variant: string;
  profile: Profile;
  seed: number;
  /** `path=value` changes to the resolved config (they change the run ID). */
  overrides?: string[];
  /** Re-run even when a record with the same run ID exists, from scratch (earlier attempts' checkpoints and log are removed). */
  force?: boolean;
  log?: (line: string) => void;
}

/** Points kept in a record's history: enough for curves, small enough to commit. */
const HISTORY_POINTS = 200;

function trainingView(config: ExperimentConfig): IdentityDataset {
  const { dataset, minImagesPerIdentity, maxIdentities } = config.data.train;
  if (dataset !== 'celeba_subset') {
    throw new Error(
      `training set '${dataset}' is not available through this runner yet: the ${config.profile} profile names the ` +
        `paper's data. Put CASIA-WebFace aligned like celeba_subset (identity folders + a 5-point landmark file) under the ` +
        `data root and add a loader in @sphereface/data, or run a smoke/cpu profile.`,
    );
  }
  const full = loadCelebaSubset({ minImagesPerIdentity });
  if (maxIdentities === null || maxIdentities >= full.identities.length) return full;
  // The first identities in sorted order, relabelled 0…n−1.
  const identities = full.identities.slice(0, maxIdentities);
  return {
    ...full,
    identities,
    items: full.items.filter((it) => it.label < maxIdentities),
    provenance: { ...full.provenance, maxIdentities },
  };
}

/** The first pairsPerFold/2 same and different pairs of each fold, in file order (all 600 = the full protocol). */
function lfwView(config: ExperimentConfig): LfwPairsWithData {
  const source = config.data.test.landmarks === 'mtcnn' ? LANDMARK_SOURCES.lfwMtcnn150 : LANDMARK_SOURCES.lfwDlib150;
  const all = loadLfwPairs({ landmarks: source });
  const half = config.data.test.pairsPerFold / 2;
  const taken = new Map<string, number>();
  const pairs = all.pairs.filter((p) => {
    const key = `${p.fold}:${p.same}`;
    const n = taken.get(key) ?? 0;
    taken.set(key, n + 1);
    return n < half;
  });
  return { ...all, pairs };
}

function crop(config: ExperimentConfig) {
  const [height, width] = config.data.crop;
  return { height, width };
}

/** Crops start … start+count−1 of a crop set as a normalised, unmirrored [count, H, W, 3] tensor. */
function cropRange(crops: CropSet, start: number, count: number): tf.Tensor4D {
  const size = crops.height * crops.width * 3;
  const views = Array.from({ length: count }, (_, i) => crops.data.subarray((start + i) * size, (start + i + 1) * size));
  return cropsToTensor(views, new Uint8Array(count), crops.height, crops.width);
}

/** Normalised float images of a crop set, as the trainer's array provider wants them. */
function cropsAsFloat(crops: CropSet): Float32Array {
  const tensor = cropRange(crops, 0, crops.kept.length);
  const data = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return data;
}

/** Embeddings of the original and the mirrored crops, [N, D] each, in chunks to bound memory. */
function embedCrops(backbone: tf.LayersModel, crops: CropSet, chunk = 256): { original: Float32Array; flipped: Float32Array; dim: number } {
  const n = crops.kept.length;
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const images = cropRange(crops, start, count);
    const fused = extractEmbeddings(backbone, images, 'concat');
    dim = fused.shape[1] / 2;
    parts.push(fused.dataSync() as Float32Array);
    tf.dispose([images, fused]);
  }
  const original = new Float32Array(n * dim);
  const flipped = new Float32Array(n * dim);
  let row = 0;
  for (const part of parts) {
    for (let r = 0; r < part.length / (2 * dim); r++, row++) {
      original.set(part.subarray(r * 2 * dim, r * 2 * dim + dim), row * dim);
      flipped.set(part.subarray(r * 2 * dim + dim, (r + 1) * 2 * dim), row * dim);
    }
  }
  return { original, flipped, dim };
}

function gather(features: Float32Array, dim: number, rows: number[]): { rows: number; cols: number; data: Float32Array } {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
  return { rows: rows.length, cols: dim, data: out };
}

/** Runs a write, reporting a failure (a full disk…) with the path being written. */
async function writing<T>(path: string, write: () => T | Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw new Error(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function writeArtifact(dir: string, artifactsDir: string, name: string, data: Uint8Array): Promise<ArtifactRef> {
  const path = join(dir, name);
  await writing(path, () => writeFileAtomic(path, data));
  return { name, sha256: sha256Hex(data), bytes: data.byteLength, path: relative(artifactsDir, path) };
}

/** Makes sure a folder the run writes to exists and takes a file, before anything is trained. */
function assertWritable(dir: string, what: string, variable: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new Error(`the ${what} folder ${dir} is not writable (${(error as Error).message}); nothing was trained. Make it writable or set ${variable} to another folder`, {
      cause: error,
    });
  }
}

const LOCK_FILE = 'run.lock';

/** Temporary files of writes that a kill interrupted (writeFileAtomic's `….tmp-<pid>-…`, the checkpoint writer's `.tmp-ckpt-…`). */
function removeTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (/\.tmp-\d+-[^-/]*$/.test(entry.name) || entry.name.startsWith('.tmp-ckpt-')) {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } else if (entry.isDirectory()) {
      removed.push(...removeTemporaryFiles(path));
    }
  }
  return removed;
}

function summariseHistory(history: IterationRecord[]): Array<Record<string, number>> {
  const every = Math.max(1, Math.ceil(history.length / HISTORY_POINTS));
  return history
    .filter((_, i) => i % every === 0 || i === history.length - 1)
    .map((r) => ({
      iteration: r.iteration,
      loss: r.loss,
      accuracy: r.accuracy,
      lambda: r.lambda ?? Number.NaN,
      lr: r.lr,
      meanTargetAngle: r.meanTargetAngle,
      meanFeatureNorm: r.meanFeatureNorm,
      imagesPerSec: r.imagesPerSec,
    }));
}

/** Train, extract LFW features, evaluate, and write the run record; a recorded run ID is replayed, not re-run. */
export async function runExperiment(options: RunOptions): Promise<RunRecord> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { root, experiment, variant, profile, seed } = options;
  const config = validateConfig(resolveConfig(experiment, variant, profile, seed, options.overrides), listModels());
  const backend = await selectBackend({ log });

  log(`[1/5] data views (${config.data.train.dataset}, LFW ${config.data.test.pairsPerFold * 10} pairs)`);
  const align = { ...crop(config), allowReflection: true };
  const train = trainingView(config);
  const lfw = config.evaluation.protocols.length > 0 ? lfwView(config) : null;
  const identity: RunIdentity = {
    config,
    code: (({ treeHash, diffHash }) => ({ treeHash, diffHash }))(codeVersion(root)),
    data: { train: datasetViewHash(train, align), ...(lfw ? { lfw: pairsViewHash(lfw, align) } : {}) },
    backend: backend.tfBackend,
  };
  const runId = runIdOf(identity);
  /** The recorded result, or null; a recorded failure is thrown, a damaged record is named. */
  const recorded = (): RunRecord | null => {
    if (options.force || !isRecorded(root, runId)) return null;
    let found: RunRecord;
    try {
      found = readRecord(root, runId);
    } catch (error) {
      throw new Error(`run ${runId} is recorded, but its record is damaged: ${(error as Error).message}. --force trains the run again and rewrites the record`, {
        cause: error,
      });
    }
    if (found.failure) throw new RunFailedError(found, recordPath(root, runId, config.profile), true);
    log(`run ${runId} is already recorded: replaying the recorded result (no training; --force re-runs it)`);
    return found;
  };
  const replay = recorded();
  if (replay) return replay;
  const artifactsDir = artifactsRoot(root);
  const runDir = join(artifactsDir, runId);
  // Checked now, not found out after training.
  assertWritable(dirname(recordPath(root, runId, config.profile)), 'records', 'SPHEREFACE_RECORDS');
  assertWritable(runDir, 'artifacts', 'SPHEREFACE_ARTIFACTS');
  // One process per run ID: a second one would resume from the first's checkpoints and interleave its log.
  const lock = acquireRunLock(join(runDir, LOCK_FILE), `run ${runId}`);
  try {
    if (lock.tookOver) log(`${lock.path}: the lock of process ${lock.tookOver.pid}, which is no longer running: taken over`);
    return recorded() ?? (await trainAndRecord({ options, log, config, backend, align, train, lfw, identity, runId, artifactsDir, runDir }));
  } finally {
    lock.release();
  }
}

interface RunContext {
  options: RunOptions;
  log: (line: string) => void;
  config: ExperimentConfig;
  backend: Awaited<ReturnType<typeof selectBackend>>;
  align: ReturnType<typeof crop> & { allowReflection: boolean };
  train: IdentityDataset;
  lfw: LfwPairsWithData | null;
  identity: RunIdentity;
  runId: string;
  artifactsDir: string;
  runDir: string;
}

/** Trains (resuming from the newest intact checkpoint), evaluates and writes the record; the caller holds the run's lock. */
async function trainAndRecord(context: RunContext): Promise<RunRecord> {
  const { options, log, config, backend, align, train, lfw, identity, runId, artifactsDir, runDir } = context;
  const { root, experiment, variant, profile, seed } = options;
  const startedAt = new Date();
  if (options.force) {
    const cleared = readdirSync(runDir).filter((f) => !f.startsWith(LOCK_FILE));
    for (const f of cleared) rmSync(join(runDir, f), { recursive: true, force: true });
    if (cleared.length) log(`--force: removed what earlier attempts left in ${runDir} (${cleared.join(', ')})`);
  } else {
    const removed = removeTemporaryFiles(runDir);
    if (removed.length) log(`removed ${removed.length} temporary file(s) that an interrupted attempt left: ${removed.map((f) => relative(runDir, f)).join(', ')}`);
  }
  log(`run ${runId}: ${experiment}/${variant}, ${profile} profile, seed ${seed}; artifacts in ${runDir}`);

  log(`[2/5] aligning ${train.items.length} training images of ${train.identities.length} identities to ${align.height}×${align.width}`);
  const trainCrops = await loadCrops(train.imageDir, train.items, { align });
  const labels = Int32Array.from(trainCrops.kept, (k) => train.items[k].label);
  const provider = new ArrayBatchProvider(cropsAsFloat(trainCrops), labels, [align.height, align.width, 3], train.identities.length, seed);
  const backbone = createModel(config.model.name, {
    inputSize: config.data.crop,
    widthMultiplier: config.model.widthMultiplier,
    embeddingDim: config.model.embeddingDim,
    seed,
  });
  const { model: headModel } = marginHeadModel({
    numClasses: train.identities.length,
    loss: config.loss.name,
    lossOptions: config.loss.options,
    seed: seed + 1,
    inputDim: config.model.embeddingDim,
  });
  const t = config.trainer;
  const logFile = join(runDir, 'train.jsonl');
  const trainer = new Trainer(backbone, headModel, provider, {
    batchSize: t.batchSize,
    maxIter: t.iterations,
    baseLr: t.learningRate,
    lrSteps: t.lrSteps,
    momentum: t.momentum,
    weightDecay: t.weightDecay,
    clipNorm: t.clipGradNorm,
    mirror: config.data.train.mirror,
    seed,
    checkpointDir: join(runDir, 'checkpoints'),
    checkpointEvery: t.checkpointEvery,
    logFile,
  });
  const { restored, skipped } = await trainer.restoreNewest();
  for (const s of skipped) log(`cannot use ${s.reason}; falling back to an older checkpoint`);
  if (restored) {
    log(`resuming from checkpoint ${restored} (iteration ${trainer.iteration})`);
  } else if (existsSync(logFile)) {
    // No usable checkpoint: training starts again at iteration 0, so the earlier attempt's log goes too.
    rmSync(logFile);
    log(`no usable checkpoint${skipped.length ? '' : ' yet'}: training from iteration 0 (removed the log of the interrupted attempt)`);
  }
  const definition = getExperiment(experiment).variants.find((v) => v.name === variant);
  /** Writes the run record (a finished run's, or a failed run's with its history and diagnosis). */
  const record = (fields: Pick<RunRecord, 'history' | 'metrics' | 'artifacts' | 'failure'>): { record: RunRecord; path: string } => {
    const endedAt = new Date();
    const result: RunRecord = {
      schema: RECORD_SCHEMA,
      runId,
      identity,
      code: codeVersion(root),
      backend: backend as unknown as Record<string, unknown>,
      environment: environmentInfo(),
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      seconds: (endedAt.getTime() - startedAt.getTime()) / 1000,
      paper: definition?.paper ?? null,
      ...(options.overrides?.length ? { overrides: options.overrides } : {}),
      ...fields,
    };
    const path = writeRecord(root, result);
    log(`run record written: ${relative(root, path)} (content hash ${contentHash(result).slice(0, 12)})`);
    return { record: result, path };
  };
  const trainMetrics = (history: IterationRecord[]) => {
    // The step a health check stopped has no finite loss: averages use the last 10 healthy iterations.
    const last = history.filter((r) => Number.isFinite(r.loss)).slice(-10);
    const average = (key: keyof IterationRecord) => last.reduce((s, r) => s + Number(r[key]), 0) / last.length;
    return { loss: average('loss'), accuracy: average('accuracy'), iterations: trainer.iteration, identities: train.identities.length, images: trainCrops.kept.length };
  };

  const disposeModels = () => [trainer, backbone, headModel].forEach((m) => m.dispose());

  log(`[3/5] training ${config.model.name} ×${config.model.widthMultiplier} with ${config.loss.name} for ${t.iterations} iterations`);
  try {
    await trainer.run();
  } catch (error) {
    if (!(error instanceof TrainingHealthError)) throw error;
    // A diverged or collapsed run is a result too: recorded, so it is not silently retried or lost.
    const history = readTrainLog(logFile).records;
    const failure = { iteration: error.iteration, kind: error.kind, diagnosis: error.message };
    const failed = record({ history: summariseHistory(history), metrics: { train: trainMetrics(history), lfw: [] }, artifacts: [], failure });
    disposeModels();
    throw new RunFailedError(failed.record, failed.path, false);
  }
  const history = readTrainLog(logFile).records;

  const artifacts: ArtifactRef[] = [];
  for (const [model, part] of [[backbone, 'backbone'], [headModel, 'head']] as const) {
    await writing(join(runDir, part), () => model.save(fileSystemHandler(join(runDir, part))));
  }
  for (const part of ['backbone', 'head']) {
    for (const file of ['model.json', 'weights.bin']) {
      const data = readFileSync(join(runDir, part, file));
      artifacts.push({ name: `${part}/${file}`, sha256: sha256Hex(data), bytes: data.byteLength, path: relative(artifactsDir, join(runDir, part, file)) });
    }
  }

  const metrics: RunRecord['metrics'] = { train: trainMetrics(history), lfw: [] };
  if (lfw) {
    const images = pairImages(lfw);
    log(`[4/5] extracting LFW features of ${images.length} images (original and mirrored)`);
    const lfwCrops = await loadCrops(lfw.imageDir, images, { align });
    const { original, flipped, dim } = embedCrops(backbone, lfwCrops);
    const index = new Map(images.map((it, i) => [it.rel, i]));
    const left = lfw.pairs.map((p) => index.get(p.a)!);
    const right = lfw.pairs.map((p) => index.get(p.b)!);
    artifacts.push(await writeArtifact(runDir, artifactsDir, 'lfw-features.f32', new Uint8Array(new Float32Array([...original, ...flipped]).buffer)));
    log(`[5/5] evaluating ${config.evaluation.protocols.join(', ')}`);
    const report = evaluateLfwProtocols({
      leftOriginal: gather(original, dim, left),
      leftFlipped: gather(flipped, dim, left),
      rightOriginal: gather(original, dim, right),
      rightFlipped: gather(flipped, dim, right),
      same: lfw.pairs.map((p) => p.same),
    });
    for (const p of report.protocols.filter((q) => config.evaluation.protocols.includes(q.name))) {
      metrics.lfw.push({ protocol: p.name, description: p.description, mean: p.accuracy, std: p.std ?? 0, foldAccuracies: p.foldAccuracies ?? [] });
    }
    const canonical = report.protocols.find((p) => p.name === 'canonical');
    if (canonical) {
      metrics.verification = { auc: canonical.metrics.auc, eer: canonical.metrics.eer };
      for (const { far, tar } of canonical.metrics.tarAtFar) metrics.verification[`tar@far=${far}`] = tar;
    }
  }
  if (config.evaluation.trainFeatures) {
    log('[4/5] embedding the training images');
    const { original, dim } = embedCrops(backbone, trainCrops);
    artifacts.push(await writeArtifact(runDir, artifactsDir, 'train-features.f32', new Uint8Array(original.buffer)));
    artifacts.push(await writeArtifact(runDir, artifactsDir, 'train-labels.json', new TextEncoder().encode(JSON.stringify(Array.from(labels)))));
    metrics.angularFisherScore = angularFisherScore({ rows: labels.length, cols: dim, data: original }, labels).afs;
  }
  disposeModels();
  return record({ history: summariseHistory(history), metrics, artifacts }).record;
}

/** A run stopped by a training health check; its record (with the diagnosis) is written before this is thrown. */
export class RunFailedError extends Error {
  constructor(
    readonly record: RunRecord,
    readonly recordFile: string,
    replayed: boolean,
  ) {
    const f = record.failure!;
    super(
      `run ${record.runId} (${record.identity.config.experiment}/${record.identity.config.variant}) ${replayed ? 'is recorded as failed' : 'failed'}: ` +
        `${f.diagnosis}. Record: ${recordFile}` +
        (replayed ? ' (--force trains it again)' : ''),
    );
    this.name = 'RunFailedError';
  }
}
