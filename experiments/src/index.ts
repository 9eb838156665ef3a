export { ConfigError, PROFILES, PROTOCOLS, validateConfig, type ExperimentConfig, type Profile, type ProtocolName } from './config';
export { EXPERIMENTS, getExperiment, profileBase, reducedLambdaSchedule, resolveConfig, type ExperimentDefinition, type Variant, type PaperValue } from './definitions';
export { listRecordIds, listRecords, readRecord, runIdOf, writeRecord, validateRecord, RECORD_SCHEMA, type RunRecord, type RunIdentity, type ProtocolResult } from './record';
export { citeBibtex, exportModelIndex, filterRecords, formatDiff, formatResults, formatShow, headline } from './report';
export { codeVersion, CODE_PATHS, type CodeVersion } from './code-version';
export { environmentInfo, type EnvironmentInfo } from './environment';
export { artifactsRoot, repositoryRoot } from './paths';
