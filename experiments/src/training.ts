import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { buildCropStore, CropBatchProvider, paddedTemplate, type CropStore } from '@sphereface/data';
import { createModel, marginHeadModel, readTrainLog, Trainer, TrainingHealthError, type IterationRecord } from '@sphereface/models';
import { removeTemporaryFiles } from './artifacts';
import type { ExperimentConfig } from './config';
import type { RunFailure } from './record';
import type { DataViews } from './views';

/** Points kept in a record's history: enough for curves, small enough to commit. */
const HISTORY_POINTS = 200;

/** The lock file in a run folder (see run-lock.ts); everything else there belongs to an attempt at the run. */
export const LOCK_FILE = 'run.lock';

/**
 * Before an attempt: `--force` clears what earlier attempts left (checkpoints, log, artifacts); otherwise only the
 * temporary files of interrupted writes go, and training resumes from the newest intact checkpoint.
 */
export function prepareRunFolder(runDir: string, force: boolean, log: (line: string) => void): void {
  if (force) {
    const cleared = readdirSync(runDir).filter((f) => !f.startsWith(LOCK_FILE));
    for (const f of cleared) rmSync(join(runDir, f), { recursive: true, force: true });
    if (cleared.length) log(`--force: removed what earlier attempts left in ${runDir} (${cleared.join(', ')})`);
    return;
  }
  const removed = removeTemporaryFiles(runDir);
  if (removed.length) log(`removed ${removed.length} temporary file(s) that an interrupted attempt left: ${removed.map((f) => relative(runDir, f)).join(', ')}`);
}

/** Stage 2's result: the store of aligned training crops, and the models and trainer, resumed where an attempt stopped. */
export interface TrainingSession {
  crops: CropStore;
  /** The crops' margin for random-crop augmentation (0: none): the model sees their centre windows. */
  margin: number;
  /** Class label of each stored crop. */
  labels: Int32Array;
  backbone: tf.LayersModel;
  head: tf.LayersModel;
  trainer: Trainer;
  logFile: string;
  dispose(): void;
}

export async function setUpTraining(config: ExperimentConfig, views: DataViews, runDir: string, log: (line: string) => void): Promise<TrainingSession> {
  const { train, align } = views;
  const seed = config.seed;
  // Random-crop augmentation: crops aligned with a margin, batches of crop-size windows of them.
  const margin = config.data.train.randomCrop ?? 0;
  const storeAlign = margin > 0 ? { ...align, template: paddedTemplate({ ...align, margin }), height: align.height + 2 * margin, width: align.width + 2 * margin } : align;
  const crops = await buildCropStore(train.imageDir, train.items, {
    align: storeAlign,
    ...views.trainSource,
    onProgress: ({ shard, shards, built, images }) => {
      if (built > 0 && shards > 1 && (shard === shards || shard % 10 === 0)) log(`crop store: shard ${shard}/${shards} (${images} images)`);
    },
  });
  const labels = Int32Array.from(crops.kept, (k) => train.items[k].label);
  const provider = new CropBatchProvider(crops, labels, train.identities.length, seed, {
    mirror: config.data.train.mirror,
    ...(margin > 0 ? { window: { height: align.height, width: align.width } } : {}),
  });
  const backbone = createModel(config.model.name, {
    inputSize: config.data.crop,
    widthMultiplier: config.model.widthMultiplier,
    embeddingDim: config.model.embeddingDim,
    seed,
    ...(config.model.xavier ? { xavier: config.model.xavier } : {}),
  });
  const { model: head } = marginHeadModel({
    numClasses: train.identities.length,
    loss: config.loss.name,
    lossOptions: config.loss.options,
    seed: seed + 1,
    inputDim: config.model.embeddingDim,
  });
  const t = config.trainer;
  const logFile = join(runDir, 'train.jsonl');
  const trainer = new Trainer(backbone, head, provider, {
    batchSize: t.batchSize,
    maxIter: t.iterations,
    baseLr: t.learningRate,
    lrSteps: t.lrSteps,
    momentum: t.momentum,
    weightDecay: t.weightDecay,
    clipNorm: t.clipGradNorm,
    ...(t.biasLrMult !== undefined ? { biasLrMult: t.biasLrMult } : {}),
    ...(t.biasDecayMult !== undefined ? { biasDecayMult: t.biasDecayMult } : {}),
    ...(t.momentumStyle ? { momentumStyle: t.momentumStyle } : {}),
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
  const dispose = () => {
    [trainer, backbone, head].forEach((m) => m.dispose());
    crops.close();
    void provider.close();
  };
  return { crops, margin, labels, backbone, head, trainer, logFile, dispose };
}

/** Stage 3's result: the log's iteration records, and the health check's verdict when it stopped training. */
export interface TrainingOutcome {
  history: IterationRecord[];
  failure?: RunFailure;
}

/** Trains to the configured iteration. A diverged or collapsed run is a result too (a failure), not an exception. */
export async function train(session: TrainingSession): Promise<TrainingOutcome> {
  try {
    await session.trainer.run();
  } catch (error) {
    if (!(error instanceof TrainingHealthError)) throw error;
    return { history: readTrainLog(session.logFile).records, failure: { iteration: error.iteration, kind: error.kind, diagnosis: error.message } };
  }
  return { history: readTrainLog(session.logFile).records };
}

/** The record's training figures: averages of the last 10 healthy iterations (a stopped step has no finite loss). */
export function trainingMetrics(session: TrainingSession, history: IterationRecord[], identities: number): Record<string, number> {
  const last = history.filter((r) => Number.isFinite(r.loss)).slice(-10);
  const average = (key: keyof IterationRecord) => last.reduce((s, r) => s + Number(r[key]), 0) / last.length;
  return { loss: average('loss'), accuracy: average('accuracy'), iterations: session.trainer.iteration, identities, images: session.crops.count };
}

/** At most HISTORY_POINTS evenly spaced iteration records (always the last), with the fields the record keeps. */
export function summariseHistory(history: IterationRecord[]): Array<Record<string, number>> {
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
