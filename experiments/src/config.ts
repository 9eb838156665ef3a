import { getMarginLoss } from '@sphereface/loss';

export const PROFILES = ['smoke', 'cpu', 'paper'] as const;
export type Profile = (typeof PROFILES)[number];

import type { ProtocolName } from '@sphereface/eval';

/** The LFW protocols of @sphereface/eval; `canonical` is the authors' evaluation.m. */
export const PROTOCOLS: readonly ProtocolName[] = ['canonical', 'best-threshold', 'sum-fusion-l2', 'no-flip'];
export type { ProtocolName };

export interface TrainDataConfig {
  /** `celeba_subset` (identity-disjoint from LFW) here; `casia_webface` for the paper profile (bring your own). */
  dataset: 'celeba_subset' | 'casia_webface' | 'att_faces';
  minImagesPerIdentity: number;
  /** Keep only the first N identities (sorted by id) after filtering; null = all. */
  maxIdentities: number | null;
  /** Horizontal-flip augmentation (the authors' `mirror: true`). */
  mirror: boolean;
}

export interface TestDataConfig {
  dataset: 'lfw';
  /** Landmark file used to align LFW: the MTCNN points the authors used, or dlib's. */
  landmarks: 'mtcnn' | 'dlib';
  /** Pairs per fold taken from pairs.txt (half same, half different, in file order); 600 = the full protocol. */
  pairsPerFold: number;
}

export interface ExperimentConfig {
  experiment: string;
  variant: string;
  profile: Profile;
  seed: number;
  data: {
    train: TrainDataConfig;
    test: TestDataConfig;
    /** Crop [height, width]; the alignment template is scaled to it. */
    crop: [number, number];
  };
  model: { name: string; widthMultiplier: number; embeddingDim: number };
  loss: { name: string; options: Record<string, unknown> };
  trainer: {
    batchSize: number;
    iterations: number;
    learningRate: number;
    /** Iterations at which the learning rate is divided by 10. */
    lrSteps: number[];
    momentum: number;
    weightDecay: number;
    /** Global gradient-norm clip (null = none); see the paper notes §7 for why reduced runs need it. */
    clipGradNorm: number | null;
    checkpointEvery: number;
  };
  evaluation: {
    /** LFW verification protocols to report (empty: no LFW evaluation, e.g. for the toy feature runs). */
    protocols: ProtocolName[];
    /** Save the embeddings of the training images (for feature plots and the angular Fisher score). */
    trainFeatures: boolean;
  };
}

export class ConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(`config ${path}: ${message}`);
    this.name = 'ConfigError';
  }
}

const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNum = (v: unknown, min: number) => typeof v === 'number' && Number.isFinite(v) && v >= min;

/** Validates a resolved config; throws a ConfigError naming the offending field. */
export function validateConfig(config: ExperimentConfig, knownModels: readonly string[]): ExperimentConfig {
  const check = (ok: boolean, path: string, what: string) => {
    if (!ok) throw new ConfigError(path, what);
  };
  check(/^[a-z0-9][a-z0-9-]*$/.test(config.experiment), 'experiment', 'must be kebab-case');
  check(/^[a-z0-9][a-z0-9.-]*$/.test(config.variant), 'variant', 'must be kebab-case');
  check(PROFILES.includes(config.profile), 'profile', `must be one of ${PROFILES.join(', ')}`);
  check(isInt(config.seed, 0), 'seed', 'must be an integer ≥ 0');
  const { train, test, crop } = config.data;
  check(['celeba_subset', 'casia_webface', 'att_faces'].includes(train.dataset), 'data.train.dataset', 'unknown dataset');
  check(isInt(train.minImagesPerIdentity, 1), 'data.train.minImagesPerIdentity', 'must be an integer ≥ 1');
  check(train.maxIdentities === null || isInt(train.maxIdentities, 2), 'data.train.maxIdentities', 'must be null or an integer ≥ 2');
  check(test.dataset === 'lfw', 'data.test.dataset', "must be 'lfw'");
  check(['mtcnn', 'dlib'].includes(test.landmarks), 'data.test.landmarks', "must be 'mtcnn' or 'dlib'");
  check(isInt(test.pairsPerFold, 2) && test.pairsPerFold <= 600 && test.pairsPerFold % 2 === 0, 'data.test.pairsPerFold', 'must be an even integer in [2, 600]');
  check(Array.isArray(crop) && crop.length === 2 && crop.every((v) => isInt(v, 8)), 'data.crop', 'must be [height, width], each ≥ 8');
  check(knownModels.includes(config.model.name), 'model.name', `unknown model; registered: ${knownModels.join(', ')}`);
  check(isNum(config.model.widthMultiplier, 1e-3), 'model.widthMultiplier', 'must be > 0');
  check(isInt(config.model.embeddingDim, 2), 'model.embeddingDim', 'must be an integer ≥ 2');
  try {
    getMarginLoss(config.loss.name, config.loss.options);
  } catch (error) {
    throw new ConfigError('loss', (error as Error).message);
  }
  const t = config.trainer;
  check(isInt(t.batchSize, 1), 'trainer.batchSize', 'must be an integer ≥ 1');
  check(isInt(t.iterations, 1), 'trainer.iterations', 'must be an integer ≥ 1');
  check(isNum(t.learningRate, 0) && t.learningRate > 0, 'trainer.learningRate', 'must be > 0');
  check(Array.isArray(t.lrSteps) && t.lrSteps.every((s, i) => isInt(s, 1) && (i === 0 || s > t.lrSteps[i - 1])), 'trainer.lrSteps', 'must be increasing positive integers');
  check(isNum(t.momentum, 0) && t.momentum < 1, 'trainer.momentum', 'must be in [0, 1)');
  check(isNum(t.weightDecay, 0), 'trainer.weightDecay', 'must be ≥ 0');
  check(t.clipGradNorm === null || (isNum(t.clipGradNorm, 0) && t.clipGradNorm > 0), 'trainer.clipGradNorm', 'must be null or > 0');
  check(isInt(t.checkpointEvery, 1), 'trainer.checkpointEvery', 'must be an integer ≥ 1');
  check(
    config.evaluation.protocols.every((p) => PROTOCOLS.includes(p)),
    'evaluation.protocols',
    `must be a subset of ${PROTOCOLS.join(', ')}`,
  );
  check(typeof config.evaluation.trainFeatures === 'boolean', 'evaluation.trainFeatures', 'must be a boolean');
  check(config.evaluation.protocols.length > 0 || config.evaluation.trainFeatures, 'evaluation', 'evaluates nothing');
  return config;
}
