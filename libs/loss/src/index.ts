export type { LossAndMetrics, MarginLoss, MarginLossInputs, MarginMetrics } from './types';
export { fusedLossAndMetrics, hasFusedMarginSoftmax, MARGIN_SOFTMAX_KERNEL, type MarginSoftmaxSpec } from './fused';
export { psi, intervalThresholds } from './psi';
export {
  lambdaAt,
  lambdaFloorIteration,
  resolveLambda,
  SPHEREFACE_LAMBDA_SCHEDULE,
  type LambdaOption,
  type LambdaSchedule,
} from './lambda';
export {
  getMarginLoss,
  getMarginLossDefinition,
  listMarginLosses,
  registerMarginLoss,
  type MarginLossClass,
  type MarginLossDefinition,
  type RegisteredMarginLoss,
} from './registry';
export { MarginLossBase, softmaxCrossEntropy, type BatchGeometry, type TargetTerms } from './margin-loss-base';
export { MultiplicativeMarginLoss, type MultiplicativeMarginOptions } from './multiplicative-margin';
export { ScaledCosineLoss, type ScaledCosineOptions } from './scaled-cosine';
export { chebyshevT, psiOfCosine, NORM_EPSILON } from './tensor-ops';
export * from './losses';
// The margin-bound checks (symbolic, Z3 proof, numeric) are the subpath '@sphereface/loss/bounds'.
