import { getMarginLoss, getMarginLossDefinition, listMarginLosses, SPHEREFACE_LAMBDA_SCHEDULE } from '@sphereface/loss';

export const PROFILES = ['smoke', 'cpu', 'cpu-full', 'paper'] as const;
export type Profile = (typeof PROFILES)[number];

import { JPEG_DECODERS, type JpegDecoder } from '@sphereface/data';
import type { ProtocolName } from '@sphereface/eval';

/** The LFW protocols of @sphereface/eval; `canonical` is the authors' evaluation.m. */
export const PROTOCOLS: readonly ProtocolName[] = ['canonical', 'best-threshold', 'sum-fusion-l2', 'no-flip'];
export type { ProtocolName };

export interface TrainDataConfig {
  /**
   * `celeba_subset` (identity-disjoint from LFW) and `att_faces` from the data root; `casia_webface` (the paper
   * profile's) and `path` are training sets named by `path` (bring your own).
   */
  dataset: 'celeba_subset' | 'casia_webface' | 'att_faces' | 'path';
  /**
   * Optional (see OPTIONAL_FIELDS; `sphereface run --train-data`): an identity-folder tree, the same tree as a .zip,
   * or an insightface RecordIO folder (train.rec + train.idx). Not part of the run ID: the images' content is.
   */
  path?: string;
  /** Optional (`--train-landmarks`): the 5-point landmark file of `path`; without it the images are pre-aligned crops. */
  landmarks?: string;
  minImagesPerIdentity: number;
  /** Keep only the first N identities (sorted by id) after filtering; null = all. */
  maxIdentities: number | null;
  /** Horizontal-flip augmentation (the authors' `mirror: true`). */
  mirror: boolean;
  /**
   * Optional (see OPTIONAL_FIELDS): random-crop augmentation with this margin in pixels. The training crops are
   * aligned with the margin on every side and each batch row is a random crop-size window of them (the PyTorch
   * port's 2: ±2 px). LFW is aligned without a margin, the centre window.
   */
  randomCrop?: number;
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
    /** Optional (see OPTIONAL_FIELDS): the JPEG decoder every crop is made with. */
    jpegDecoder?: JpegDecoder;
  };
  model: {
    name: string;
    widthMultiplier: number;
    embeddingDim: number;
    /** Optional (see OPTIONAL_FIELDS): the xavier layers' initialiser, Caffe's fan-in or Glorot's fan average. */
    xavier?: 'fan-in' | 'fan-avg';
  };
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
    /** Optional (see OPTIONAL_FIELDS): Caffe's lr_mult and decay_mult of the learned biases. */
    biasLrMult?: number;
    biasDecayMult?: number;
    /** Optional (see OPTIONAL_FIELDS): where lr enters the momentum update (see the Trainer's momentumStyle). */
    momentumStyle?: 'caffe' | 'pytorch';
  };
  evaluation: {
    /** LFW verification protocols to report (empty: no LFW evaluation, e.g. for the toy feature runs). */
    protocols: ProtocolName[];
    /** Save the embeddings of the training images (for feature plots and the angular Fisher score). */
    trainFeatures: boolean;
  };
}

/**
 * Settings a config may leave out, with the value that absence means (the authors' Caffe choices). They were
 * added for the controlled runs on the full-width gap (notebooks/full-width-gap.ipynb); leaving them out keeps the configs,
 * and so the run IDs, of the runs recorded before them, and a value equal to its default is dropped again
 * (applyOverrides), so that spelling a default out does not make another run.
 */
export const OPTIONAL_FIELDS: Readonly<Record<string, unknown>> = {
  'data.jpegDecoder': 'jpeg-js',
  'data.train.randomCrop': 0,
  'data.train.path': undefined,
  'data.train.landmarks': undefined,
  'model.xavier': 'fan-in',
  'trainer.biasLrMult': 2,
  'trainer.biasDecayMult': 0,
  'trainer.momentumStyle': 'caffe',
};

/**
 * The config as it enters the run ID: where a training set named by a path lives (data.train.path, .landmarks) is
 * left out, because the data view hash already names its content, so moving the data keeps the run ID.
 */
export function identityConfig(config: ExperimentConfig): ExperimentConfig {
  const { path: _path, landmarks: _landmarks, ...train } = config.data.train;
  return { ...config, data: { ...config.data, train } };
}

export class ConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(`config ${path}: ${message}`);
    this.name = 'ConfigError';
  }
}

const isInt = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isNum = (v: unknown, min: number) => typeof v === 'number' && Number.isFinite(v) && v >= min;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as a message shows what was given: its JSON (shortened) and its kind. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  const json = JSON.stringify(v) ?? String(v);
  const text = json.length > 80 ? `${json.slice(0, 77)}...` : json;
  return `${text} (${Array.isArray(v) ? 'array' : typeof v})`;
}

function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), config);
}

/** The objects of a config and their fields, parents first: checked before any field is read. */
const OBJECT_FIELDS: readonly (readonly [string, readonly string[]])[] = [
  ['data', ['train', 'test', 'crop']],
  ['data.train', ['dataset', 'minImagesPerIdentity', 'maxIdentities', 'mirror']],
  ['data.test', ['dataset', 'landmarks', 'pairsPerFold']],
  ['model', ['name', 'widthMultiplier', 'embeddingDim']],
  ['loss', ['name', 'options']],
  ['trainer', ['batchSize', 'iterations', 'learningRate', 'lrSteps', 'momentum', 'weightDecay', 'clipGradNorm', 'checkpointEvery']],
  ['evaluation', ['protocols', 'trainFeatures']],
];

function requireObject(value: unknown, path: string, fields: readonly string[]): asserts value is Record<string, unknown> {
  if (!isObject(value)) throw new ConfigError(path, `expected an object with fields ${fields.join(', ')}; got ${describeValue(value)}`);
}

const LAMBDA_FIELDS = Object.keys(SPHEREFACE_LAMBDA_SCHEDULE);

/** lambda is a fixed λ (number ≥ 0) or a partial schedule ({ base, gamma, power, lambdaMin }, numbers ≥ 0). */
function checkLambda(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (!isNum(value, 0)) throw new ConfigError(path, `expected a finite number ≥ 0; got ${describeValue(value)}`);
    return;
  }
  if (!isObject(value)) {
    throw new ConfigError(
      path,
      `expected a number ≥ 0 (a fixed λ) or an object with any of ${LAMBDA_FIELDS.join(', ')} (a schedule); got ${describeValue(value)}`,
    );
  }
  for (const [key, v] of Object.entries(value)) {
    if (!LAMBDA_FIELDS.includes(key)) throw new ConfigError(`${path}.${key}`, `expected one of ${LAMBDA_FIELDS.join(', ')} as a schedule field; got '${key}'`);
    if (!isNum(v, 0)) throw new ConfigError(`${path}.${key}`, `expected a finite number ≥ 0; got ${describeValue(v)}`);
  }
}

/**
 * The loss options with every default filled in (what a run records), after checking `loss` field by
 * field: a ConfigError names the path (`loss.options.lambda`), what was expected and what was given.
 * Range checks the loss makes itself (e.g. m an integer ≥ 1) are reported at `loss.options`.
 */
export function resolveLossOptions(loss: unknown): Record<string, unknown> {
  requireObject(loss, 'loss', ['name', 'options']);
  const registered = listMarginLosses();
  if (typeof loss.name !== 'string' || !registered.includes(loss.name)) {
    throw new ConfigError('loss.name', `unknown margin loss; registered: ${registered.join(', ')}; got ${describeValue(loss.name)}`);
  }
  const defaults = getMarginLossDefinition(loss.name).defaults as Record<string, unknown>;
  const known = Object.keys(defaults);
  const options = loss.options;
  if (!isObject(options)) {
    throw new ConfigError('loss.options', `expected an object with any of ${known.join(', ') || '(no options)'}; got ${describeValue(options)}`);
  }
  for (const [key, value] of Object.entries(options)) {
    const path = `loss.options.${key}`;
    if (!(key in defaults)) throw new ConfigError(path, `${loss.name} has no such option; options: ${known.join(', ') || '(none)'}`);
    const d = defaults[key];
    if (key === 'lambda' && isObject(d)) checkLambda(value, path);
    else if (isObject(d)) requireObject(value, path, Object.keys(d));
    else if (typeof value !== typeof d) throw new ConfigError(path, `expected a ${typeof d} (default ${JSON.stringify(d)}); got ${describeValue(value)}`);
  }
  try {
    return { ...getMarginLoss(loss.name, options).options };
  } catch (error) {
    throw new ConfigError('loss.options', `${(error as Error).message}; got ${describeValue(options)}`);
  }
}

/** Validates a resolved config; throws a ConfigError naming the offending field, what it expects and what it got. */
export function validateConfig(config: ExperimentConfig, knownModels: readonly string[]): ExperimentConfig {
  const check = (ok: boolean, path: string, what: string) => {
    if (!ok) throw new ConfigError(path, `${what}; got ${describeValue(valueAt(config, path))}`);
  };
  for (const [path, fields] of OBJECT_FIELDS) requireObject(valueAt(config, path), path, fields);
  check(typeof config.experiment === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(config.experiment), 'experiment', 'must be kebab-case');
  check(typeof config.variant === 'string' && /^[a-z0-9][a-z0-9.-]*$/.test(config.variant), 'variant', 'must be kebab-case');
  check(PROFILES.includes(config.profile), 'profile', `must be one of ${PROFILES.join(', ')}`);
  check(isInt(config.seed, 0), 'seed', 'must be an integer ≥ 0');
  const { train, test, crop } = config.data;
  check(['celeba_subset', 'casia_webface', 'att_faces', 'path'].includes(train.dataset), 'data.train.dataset', 'must be one of celeba_subset, casia_webface, att_faces, path');
  const byPath = train.dataset === 'casia_webface' || train.dataset === 'path';
  if (byPath && typeof train.path !== 'string') {
    throw new ConfigError(
      'data.train.path',
      `the ${train.dataset} training set is named by a path: pass --train-data PATH (an identity-folder tree such as CASIA-WebFace, ` +
        `the same tree as a .zip, or an insightface RecordIO folder) and, for images that are not aligned yet, --train-landmarks FILE ` +
        `(README: "Reproducing the paper on a GPU"); got ${describeValue(train.path)}`,
    );
  }
  check(byPath || train.path === undefined, 'data.train.path', `names a training set, so data.train.dataset must be 'path' or 'casia_webface', not '${train.dataset}'`);
  check(train.landmarks === undefined || (typeof train.landmarks === 'string' && train.path !== undefined), 'data.train.landmarks', 'must be a file path, with data.train.path');
  check(isInt(train.minImagesPerIdentity, 1), 'data.train.minImagesPerIdentity', 'must be an integer ≥ 1');
  check(train.maxIdentities === null || isInt(train.maxIdentities, 2), 'data.train.maxIdentities', 'must be null or an integer ≥ 2');
  check(typeof train.mirror === 'boolean', 'data.train.mirror', 'must be a boolean');
  check(train.randomCrop === undefined || (isInt(train.randomCrop, 0) && train.randomCrop <= 8), 'data.train.randomCrop', 'must be an integer in [0, 8] (a margin in pixels)');
  check(test.dataset === 'lfw', 'data.test.dataset', "must be 'lfw'");
  check(['mtcnn', 'dlib'].includes(test.landmarks), 'data.test.landmarks', "must be 'mtcnn' or 'dlib'");
  check(isInt(test.pairsPerFold, 2) && test.pairsPerFold <= 600 && test.pairsPerFold % 2 === 0, 'data.test.pairsPerFold', 'must be an even integer in [2, 600]');
  check(Array.isArray(crop) && crop.length === 2 && crop.every((v) => isInt(v, 8)), 'data.crop', 'must be [height, width], each ≥ 8');
  const { jpegDecoder } = config.data;
  check(jpegDecoder === undefined || JPEG_DECODERS.includes(jpegDecoder), 'data.jpegDecoder', `must be one of ${JPEG_DECODERS.join(', ')}`);
  check(knownModels.includes(config.model.name), 'model.name', `unknown model; registered: ${knownModels.join(', ')}`);
  check(isNum(config.model.widthMultiplier, 1e-3), 'model.widthMultiplier', 'must be > 0');
  check(isInt(config.model.embeddingDim, 2), 'model.embeddingDim', 'must be an integer ≥ 2');
  check(config.model.xavier === undefined || ['fan-in', 'fan-avg'].includes(config.model.xavier), 'model.xavier', "must be 'fan-in' or 'fan-avg'");
  resolveLossOptions(config.loss);
  const t = config.trainer;
  check(isInt(t.batchSize, 1), 'trainer.batchSize', 'must be an integer ≥ 1');
  check(isInt(t.iterations, 1), 'trainer.iterations', 'must be an integer ≥ 1');
  check(isNum(t.learningRate, 0) && t.learningRate > 0, 'trainer.learningRate', 'must be > 0');
  check(Array.isArray(t.lrSteps) && t.lrSteps.every((s, i) => isInt(s, 1) && (i === 0 || s > t.lrSteps[i - 1])), 'trainer.lrSteps', 'must be increasing positive integers');
  check(isNum(t.momentum, 0) && t.momentum < 1, 'trainer.momentum', 'must be in [0, 1)');
  check(isNum(t.weightDecay, 0), 'trainer.weightDecay', 'must be ≥ 0');
  check(t.clipGradNorm === null || (isNum(t.clipGradNorm, 0) && t.clipGradNorm > 0), 'trainer.clipGradNorm', 'must be null or > 0');
  check(isInt(t.checkpointEvery, 1), 'trainer.checkpointEvery', 'must be an integer ≥ 1');
  check(t.biasLrMult === undefined || isNum(t.biasLrMult, 0), 'trainer.biasLrMult', 'must be ≥ 0');
  check(t.biasDecayMult === undefined || isNum(t.biasDecayMult, 0), 'trainer.biasDecayMult', 'must be ≥ 0');
  check(t.momentumStyle === undefined || ['caffe', 'pytorch'].includes(t.momentumStyle), 'trainer.momentumStyle', "must be 'caffe' or 'pytorch'");
  check(
    Array.isArray(config.evaluation.protocols) && config.evaluation.protocols.every((p) => PROTOCOLS.includes(p)),
    'evaluation.protocols',
    `expected an array, a subset of ${PROTOCOLS.join(', ')}`,
  );
  check(typeof config.evaluation.trainFeatures === 'boolean', 'evaluation.trainFeatures', 'must be a boolean');
  check(config.evaluation.protocols.length > 0 || config.evaluation.trainFeatures, 'evaluation', 'evaluates nothing');
  return config;
}
