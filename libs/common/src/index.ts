export { atomicWriteTempPid, processAlive, removeStaleTemporaryFiles, writeFileAtomic } from './fs';
export { canonicalJson, contentHash, sha256Hex } from './hash';
export { Mulberry32, mulberry32, shuffleInPlace } from './random';
export { MARGIN_SOFTMAX_KERNEL, SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL } from './training-kernels';
export type { MarginSoftmaxSpec, MarginTarget, SgdCoefficients } from './training-kernels';
