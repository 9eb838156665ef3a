/**
 * `@sphereface/models/bench`: what the step benchmarks (scripts/bench-*.ts) and kernel tests use, and what a
 * backend author needs to time or check the trainer's optimizer kernels. Not part of the training API.
 */
export { CPU_PROFILE_STEP, STEP_BENCH_CONFIGS, stepBenchKey, timeTorchSteps, timeTrainingSteps, TORCH_STEP_SCRIPT } from './step-bench';
export type { StepBenchConfig, StepTiming, TorchStepOptions } from './step-bench';
export { EMBED_BENCH_CONFIGS, embedBenchImages, embedBenchKey, LFW_EMBED_IMAGES, syntheticCrops, timeEmbedding, timeTorchEmbedding } from './step-bench';
export type { EmbedBenchConfig, EmbedTiming } from './step-bench';
export { trainingStepFlops } from './flops';
export { sgdMomentum, sgdMomentumOps, sumOfSquares, sumOfSquaresOps, SGD_MOMENTUM_KERNEL, SUM_OF_SQUARES_KERNEL } from './sgd';
export type { SgdCoefficients } from './sgd';
