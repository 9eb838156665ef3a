export type { DenseMatrix, FeatureMatrix, FeatureRows } from './matrix';
export {
  lfwTenFold,
  EVALUATION_M_FOLDS,
  EVALUATION_M_THRESHOLD_STEPS,
  type PairFeatures,
  type TenFoldOptions,
  type TenFoldResult,
} from './ten-fold';
export {
  evaluateLfwProtocols,
  bestThresholdAccuracy,
  insightfaceKFold,
  kFoldBounds,
  INSIGHTFACE_THRESHOLDS,
  PROTOCOL_DESCRIPTIONS,
  type FlipPairFeatures,
  type LfwProtocolReport,
  type ProtocolName,
  type ProtocolOptions,
  type ProtocolResult,
} from './protocols';
export {
  rocCurve,
  rocAuc,
  equalErrorRate,
  tarAtFar,
  verificationMetrics,
  DEFAULT_FAR_TARGETS,
  type RocCurve,
  type TarAtFar,
  type VerificationMetrics,
} from './roc';
export { angularFisherScore, type AngularFisherScore } from './fisher';
export { mean, std, type StdDefinition } from './stats';
export {
  pairedDifference,
  compareSeedFoldAccuracies,
  pageTrendTest,
  pageTrendOverSeeds,
  pageNullDistribution,
  midRanks,
  studentTCdf,
  studentTQuantile,
  normalSurvival,
  regularizedIncompleteBeta,
  PAGE_EXACT_MAX_K,
  PAGE_EXACT_WORK_LIMIT,
  type PairedDifference,
  type PairedDifferenceOptions,
  type SeedFoldAccuracies,
  type SeedComparison,
  type SeedComparisonOptions,
  type PageTies,
  type PageTrendOptions,
  type PageTrendResult,
  type PageTrendOverSeedsResult,
} from './paired';
