import { dirname, join, relative } from 'node:path';
import { pairImages } from '@sphereface/data';
import { listModels, selectBackend, type BackendInfo } from '@sphereface/models';
import { contentHash } from '@sphereface/common';
import { assertWritable, writeArtifact, writeModelArtifacts } from './artifacts';
import { identityConfig, validateConfig, type ExperimentConfig, type Profile } from './config';
import { codeIdentity, describeCodeStatus, recordCodeStatus } from './code-identity';
import { getExperiment, resolveConfig } from './definitions';
import { evaluateLfw, trainingFeatureScore } from './evaluation';
import { embedCrops, lfwFeatures } from './features';
import { artifactsRoot } from './paths';
import { isRecorded, listRecordIds, newRunRecord, readRecord, recordPath, runIdOf, writeRecord, type RunIdentity, type RunOutcome, type RunRecord } from './record';
import { acquireRunLock } from './run-lock';
import { LOCK_FILE, prepareRunFolder, setUpTraining, summariseHistory, train, trainingMetrics } from './training';
import { dataViewHashes, dataViews, type DataViews } from './views';

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

/** One run, once its ID is known. */
interface Run {
  options: RunOptions;
  log: (line: string) => void;
  config: ExperimentConfig;
  backend: BackendInfo;
  views: DataViews;
  identity: RunIdentity;
  /** The code identity's files and hashes, kept in the record. */
  codeFiles: Record<string, string>;
  runId: string;
  artifactsDir: string;
  runDir: string;
}

/**
 * Train, extract LFW features, evaluate, and write the run record, as the five steps it logs; a recorded run ID is
 * replayed, not re-run. One process at a time trains a run ID (a lock in its artifacts folder).
 */
export async function runExperiment(options: RunOptions): Promise<RunRecord> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { root, experiment, variant, profile, seed } = options;
  const config = validateConfig(resolveConfig(experiment, variant, profile, seed, options.overrides), listModels());
  const backend = await selectBackend({ log });

  log(`[1/5] data views (${config.data.train.dataset}, LFW ${config.data.test.pairsPerFold * 10} pairs)`);
  const views = dataViews(config);
  const code = codeIdentity(root, backend.tfBackend);
  const identity: RunIdentity = { config: identityConfig(config), code: { hash: code.hash }, data: dataViewHashes(views), backend: backend.tfBackend };
  const runId = runIdOf(identity);
  const replay = recordedResult(options, runId, config, log);
  if (replay) return replay;
  reportOtherRecords(root, runId, identity, log);

  const artifactsDir = artifactsRoot(root);
  const runDir = join(artifactsDir, runId);
  // Checked now, not found out after training.
  assertWritable(dirname(recordPath(root, runId, config.profile)), 'records', 'SPHEREFACE_RECORDS');
  assertWritable(runDir, 'artifacts', 'SPHEREFACE_ARTIFACTS');
  // One process per run ID: a second one would resume from the first's checkpoints and interleave its log.
  const lock = acquireRunLock(join(runDir, LOCK_FILE), `run ${runId}`);
  try {
    if (lock.tookOver) log(`${lock.path}: the lock of process ${lock.tookOver.pid}, which is no longer running: taken over`);
    // Another process may have finished the run while this one waited for the lock.
    const run: Run = { options, log, config, backend, views, identity, codeFiles: code.files, runId, artifactsDir, runDir };
    return recordedResult(options, runId, config, log) ?? (await trainAndRecord(run));
  } finally {
    lock.release();
  }
}

/** The recorded result of the run, or null when there is none (or --force); a recorded failure is thrown. */
function recordedResult(options: RunOptions, runId: string, config: ExperimentConfig, log: (line: string) => void): RunRecord | null {
  if (options.force || !isRecorded(options.root, runId)) return null;
  let found: RunRecord;
  try {
    found = readRecord(options.root, runId);
  } catch (error) {
    throw new Error(`run ${runId} is recorded, but its record is damaged: ${(error as Error).message}. --force trains the run again and rewrites the record`, {
      cause: error,
    });
  }
  if (found.failure) throw new RunFailedError(found, recordPath(options.root, runId, config.profile), true);
  log(`run ${runId} is already recorded: replaying the recorded result (no training; --force re-runs it)`);
  return found;
}

/**
 * Before training a run that is not recorded: say so when records of the same config exist under other IDs, and why
 * they do not count (other code, and which files; other data; another backend).
 */
function reportOtherRecords(root: string, runId: string, identity: RunIdentity, log: (line: string) => void): void {
  const config = contentHash(identity.config);
  const others = listRecordIds(root).filter((id) => id !== runId);
  for (const id of others) {
    let other: RunRecord;
    try {
      other = readRecord(root, id);
    } catch {
      continue; // a damaged record is named where it is read for its own sake (results, show)
    }
    if (other.failure || contentHash(other.identity.config) !== config) continue;
    const why = [
      ...(other.identity.backend !== identity.backend ? [`backend ${other.identity.backend}`] : []),
      ...(contentHash(other.identity.data) !== contentHash(identity.data) ? ['other data views'] : []),
      ...(contentHash(other.identity.code) !== contentHash(identity.code) ? [describeCodeStatus(recordCodeStatus(other, root))] : []),
    ];
    log(`run ${id} has this config but is not this run (${why.join('; ')}): training anew`);
  }
}

/** Steps 2–5, with the run's lock held: crops and models, training, features, evaluation and the record. */
async function trainAndRecord(run: Run): Promise<RunRecord> {
  const { options, log, config, views, runId, artifactsDir, runDir } = run;
  const { experiment, variant, profile, seed } = options;
  const startedAt = new Date();
  prepareRunFolder(runDir, Boolean(options.force), log);
  log(`run ${runId}: ${experiment}/${variant}, ${profile} profile, seed ${seed}; artifacts in ${runDir}`);

  const { train: trainView, lfw, align } = views;
  log(`[2/5] aligning ${trainView.items.length} training images of ${trainView.identities.length} identities to ${align.height}×${align.width}`);
  const session = await setUpTraining(config, views, runDir, log);
  try {
    log(`[3/5] training ${config.model.name} ×${config.model.widthMultiplier} with ${config.loss.name} for ${config.trainer.iterations} iterations`);
    const { history, failure } = await train(session);
    const trainFigures = trainingMetrics(session, history, trainView.identities.length);
    if (failure) {
      // A diverged or collapsed run is a result too: recorded, so it is not silently retried or lost.
      const { record, path } = writeRunRecord(run, startedAt, { history: summariseHistory(history), metrics: { train: trainFigures, lfw: [] }, artifacts: [], failure });
      throw new RunFailedError(record, path, false);
    }
    const artifacts = await writeModelArtifacts(runDir, artifactsDir, { backbone: session.backbone, head: session.head });
    const metrics: RunRecord['metrics'] = { train: trainFigures, lfw: [] };
    if (lfw) {
      log(`[4/5] extracting LFW features of ${pairImages(lfw).length} images (original and mirrored)`);
      const features = await lfwFeatures(session.backbone, lfw, align);
      artifacts.push(await writeArtifact(runDir, artifactsDir, 'lfw-features.f32', new Uint8Array(new Float32Array([...features.original, ...features.flipped]).buffer)));
      log(`[5/5] evaluating ${config.evaluation.protocols.join(', ')}`);
      Object.assign(metrics, evaluateLfw(features, lfw, config.evaluation.protocols));
    }
    if (config.evaluation.trainFeatures) {
      log('[4/5] embedding the training images');
      const { original, dim } = embedCrops(session.backbone, session.crops, { margin: session.margin });
      artifacts.push(await writeArtifact(runDir, artifactsDir, 'train-features.f32', new Uint8Array(original.buffer)));
      artifacts.push(await writeArtifact(runDir, artifactsDir, 'train-labels.json', new TextEncoder().encode(JSON.stringify(Array.from(session.labels)))));
      metrics.angularFisherScore = trainingFeatureScore(original, dim, session.labels);
    }
    return writeRunRecord(run, startedAt, { history: summariseHistory(history), metrics, artifacts }).record;
  } finally {
    session.dispose();
  }
}

function writeRunRecord(run: Run, startedAt: Date, outcome: RunOutcome): { record: RunRecord; path: string } {
  const { options, identity, codeFiles, runId, backend, log } = run;
  const definition = getExperiment(options.experiment).variants.find((v) => v.name === options.variant);
  const record = newRunRecord({ root: options.root, runId, identity, backend, startedAt, paper: definition?.paper ?? null, overrides: options.overrides, codeFiles, outcome });
  const path = writeRecord(options.root, record);
  log(`run record written: ${relative(options.root, path)} (content hash ${contentHash(record).slice(0, 12)})`);
  return { record, path };
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
