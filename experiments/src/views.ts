import {
  datasetViewHash,
  DEFAULT_JPEG_DECODER,
  LANDMARK_SOURCES,
  loadCelebaSubset,
  loadLfwPairs,
  pairsViewHash,
  type AlignOptions,
  type IdentityDataset,
  type LfwPairsWithData,
} from '@sphereface/data';
import { isRecordIoFolder, loadRecordIoTrainingSet, loadTrainingSet } from '@sphereface/data/sources';
import { ConfigError, type ExperimentConfig } from './config';

/** Stage 1: what a run trains and evaluates on, as the config selects it. */
export interface DataViews {
  /** The alignment every crop of the run is made with. */
  align: Required<AlignOptions>;
  train: IdentityDataset;
  /** Where the training images are when they are not files in train.imageDir (see BuildCropStoreOptions). */
  trainSource?: { zip: { prefix: string } } | { recordio: { rec: string; idx: string } };
  /** Null when the config evaluates no LFW protocol. */
  lfw: LfwPairsWithData | null;
}

function trainingView(config: ExperimentConfig): Pick<DataViews, 'train' | 'trainSource'> {
  const { dataset, minImagesPerIdentity, maxIdentities, path, landmarks } = config.data.train;
  if (path !== undefined) {
    if (isRecordIoFolder(path)) {
      if (landmarks !== undefined) throw new ConfigError('data.train.landmarks', `${path} is a RecordIO folder of aligned crops: it takes no landmark file`);
      const set = loadRecordIoTrainingSet(path, { minImagesPerIdentity, maxIdentities });
      return { train: set, trainSource: { recordio: set.recordio } };
    }
    // Without landmarks the images are crops already: the store centre-crops them to the crop size's aspect and resizes.
    const set = loadTrainingSet(path, { minImagesPerIdentity, maxIdentities, ...(landmarks !== undefined ? { landmarks: { file: landmarks } } : {}) });
    // A zip's reader holds the archive open; nothing reads through the set after this (the crop store's workers open
    // the zip themselves), so it is closed here rather than leaking a descriptor per dataViews call.
    set.close();
    return { train: set, ...(set.source.kind === 'zip' ? { trainSource: { zip: { prefix: set.source.prefix } } } : {}) };
  }
  if (dataset !== 'celeba_subset') throw new Error(`training set '${dataset}' has no loader in this runner (celeba_subset, or a path with --train-data)`);
  const full = loadCelebaSubset({ minImagesPerIdentity });
  if (maxIdentities === null || maxIdentities >= full.identities.length) return { train: full };
  // The first identities in sorted order, relabelled 0…n−1.
  const identities = full.identities.slice(0, maxIdentities);
  return {
    train: {
      ...full,
      identities,
      items: full.items.filter((it) => it.label < maxIdentities),
      provenance: { ...full.provenance, maxIdentities },
    },
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

/** The training and LFW views of a config; the loaders check every file they use against its manifest. */
export function dataViews(config: ExperimentConfig): DataViews {
  const [height, width] = config.data.crop;
  return {
    align: { height, width, allowReflection: true, template: 'sphereface-96x112', decoder: config.data.jpegDecoder ?? DEFAULT_JPEG_DECODER },
    ...trainingView(config),
    lfw: config.evaluation.protocols.length > 0 ? lfwView(config) : null,
  };
}

/** Content hashes of the views (part of the run ID): the images, landmarks and alignment each view uses. */
export function dataViewHashes(views: DataViews): Record<string, string> {
  return { train: datasetViewHash(views.train, views.align), ...(views.lfw ? { lfw: pairsViewHash(views.lfw, views.align) } : {}) };
}
