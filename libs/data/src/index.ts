export {
  type Affine, type AlignOptions, type Aligned, type CropSize, type Point, type SimilarityFit,
  SPHEREFACE_TEMPLATE_MATLAB, TEMPLATE_HEIGHT, TEMPLATE_WIDTH, DEFAULT_ALIGN,
  alignFace, alignmentTemplate, applyAffine, centreCrop, invertAffine, similarityTransform, warpAffine,
} from './align';
export { type Batch, type EpochOptions, type StreamOptions, cropBatches, cropsToTensor, epochPlan, streamBatches } from './batches';
export { type CropItem, type CropSet, type LoadCropsOptions, cropCacheKey, loadCrops } from './crop-cache';
export {
  type FaceItem, type IdentityDataset, type KnownDuplicates, type LoadCelebaOptions,
  datasetViewHash, imageSha256, loadAttFaces, loadCelebaSubset, parseKnownDuplicates, splitByIdentity,
} from './datasets';
export { DECODER_ID, decodeImageBytes, decodeImageFile, decodeJpeg, decodePgm, readImageFile } from './decode';
export { DataError, DatasetMissingError, type OnBad, type Skipped, formatSkipped } from './errors';
export { type Image, normalisePixel } from './image';
export { type LandmarkSource, type LandmarkTable, LANDMARK_SOURCES, parseLandmarks, readLandmarks } from './landmarks';
export {
  type LfwPair, type LfwPairs, type LfwPairsWithData, type LfwPeople, type LoadLfwPairsOptions,
  LFW_IMAGES, lfwImagePath, loadLfwPairs, pairImages, pairsViewHash, parsePairs, parsePeople,
} from './lfw';
export {
  type ManifestEntry, type ManifestProblem, type ManifestReport, type VerifyOptions, ManifestError,
  assertManifestOk, describeManifestProblem, manifestCacheFile, readManifest, readManifestEntries, readVerified, verifyManifest,
} from './manifest';
export { type DataRoot, type DatasetName, DATASET_NAMES, KNOWN_FILES, cacheDir, datasetDir, repoRoot, resolveDataRoot } from './paths';
export { type Rng, permutation, rngFor, shuffleInPlace } from './prng';
export { type CropResult, type CropTask, cropImage } from './process';
export { CropPool } from './worker-pool';
