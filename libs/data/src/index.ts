// The public API: datasets and their views, alignment, decoding, the crop store and batches, manifests, errors.
// Parsers, worker internals and cache-key helpers stay module-private (scripts and tests import their modules).
export {
  type Affine, type AlignOptions, type Aligned, type CropSize, type Point,
  SPHEREFACE_TEMPLATE_MATLAB, DEFAULT_ALIGN,
  alignFace, alignmentTemplate, applyAffine, centreCrop, similarityTransform, warpAffine,
} from './align';
export {
  type AlignmentTemplate, type ResolvedAlign, type TemplateName, type TemplateSpec, TemplateError,
  BUILTIN_TEMPLATES, INSIGHTFACE_TEMPLATE, INSIGHTFACE_TEMPLATE_SRC, SPHEREFACE_TEMPLATE,
  alignmentRecord, defineTemplate, isDefaultTemplate, paddedTemplate, resolveAlign, resolveTemplate, templatePlacement,
} from './align';
export { type Batch, type BatchProvider, type CropBatchOptions, type CropBatchProviderState, CropBatchProvider } from './batches';
export { assembleBatch, type BatchPlan } from './batch-assembly';
export { type CropSet, type LoadCropsOptions, cropCacheKey, loadCrops } from './crop-cache';
export {
  type BuildCropStoreOptions, type CropItem, type CropSource, type CropStoreStatus,
  buildCropStore, CropStore, cropStoreKey, DEFAULT_SHARD_SIZE, memoryCrops,
} from './crop-store';
export {
  type FaceItem, type IdentityDataset, type LoadCelebaOptions,
  datasetViewHash, loadAttFaces, loadCelebaSubset, splitByIdentity,
} from './datasets';
export { DECODER_ID, decodeImageBytes, decodeImageFile, decoderId, DEFAULT_JPEG_DECODER, JPEG_DECODERS, type JpegDecoder } from './decode';
export { DataError, DatasetMissingError, type OnBad, type Skipped, formatSkipped } from './errors';
export { type Image, normalisePixel } from './image';
export { type LandmarkSource, LANDMARK_SOURCES, readLandmarks } from './landmarks';
export { type LfwPair, type LfwPairsWithData, type LoadLfwPairsOptions, loadLfwPairs, pairImages, pairsViewHash, parsePairs, parsePeople } from './lfw';
export { type ManifestReport, ManifestError, assertManifestOk, describeManifestProblem, verifyManifest } from './manifest';
export { type DataRoot, type DatasetName, DATASET_NAMES, KNOWN_FILES, datasetDir, resolveDataRoot } from './paths';
export {
  type IRHeader, type IdentityRange, type LabelScan, type OpenRecordIoOptions, type PackHeader, type PackImage, type RawRecord,
  type RecordIoErrorKind, type RecordIoImage, type RecordIoProperty, type RecordIoSummary, type UnpackedRecord,
  InsightfaceRecBuilder, InsightfaceRecordIo, RECORDIO_MAGIC, RecordIoError, RecordIoFile, RecordIoWriter,
  classLabel, frameRecord, openInsightfaceRecordIo, packRecord, unpackRecord,
} from './recordio';
export { CropPool } from './worker-pool';
export { type VerificationBin, readVerificationBin, verificationBinHash } from './verification-bin';
