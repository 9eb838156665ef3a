export {
  analyseProtocolSteps,
  protocolStepCell,
  STEP_CENTRINGS,
  STEP_FUSIONS,
  STEP_THRESHOLDS,
  type MeanAgainstSpread,
  type MeanStatistics,
  type NormStatistics,
  type ProtocolStepAnalysis,
  type ProtocolStepCell,
  type StepCentring,
  type StepFusion,
  type StepNormalisation,
  type StepThreshold,
} from './protocol-steps';
export { meanSubtractionEffect, meanSubtractionLine, protocolStepsMarkdown, type LabelledAnalysis, type MeanSubtractionEffect } from './format';
