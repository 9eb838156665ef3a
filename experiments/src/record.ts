import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { contentHash, removeStaleTemporaryFiles, writeFileAtomic } from '@sphereface/common';
import type { ExperimentConfig } from './config';
import { codeVersion, type CodeVersion } from './code-version';
import { environmentInfo, type EnvironmentInfo } from './environment';

export const RECORD_SCHEMA = 'sphereface-ts/run-record@1';

/** Everything that determines a run's result; its content hash is the run ID. */
export interface RunIdentity {
  config: ExperimentConfig;
  /**
   * The code identity's hash (code-identity.ts: the runner's module graph, the lockfile, the native addon's sources on
   * native). Records made before it hold the git tree hashes of all of libs/ and experiments/src instead.
   */
  code: { hash: string } | Pick<CodeVersion, 'treeHash' | 'diffHash'>;
  /** Content hashes of the dataset views used (train view, LFW pairs view). */
  data: Record<string, string>;
  /** Backend name (numerics differ between backends). */
  backend: string;
}

/** One LFW protocol's result as a record keeps it (a subset of @sphereface/eval's ProtocolResult). */
export interface RecordedProtocol {
  protocol: string;
  description: string;
  mean: number;
  std: number;
  foldAccuracies: number[];
}

export interface ArtifactRef {
  name: string;
  sha256: string;
  bytes: number;
  /** Path relative to the artifacts folder. */
  path: string;
}

export interface RunRecord {
  schema: typeof RECORD_SCHEMA;
  runId: string;
  identity: RunIdentity;
  code: CodeVersion;
  backend: Record<string, unknown>;
  environment: EnvironmentInfo;
  startedAt: string;
  endedAt: string;
  seconds: number;
  /** Trainer metrics every few iterations: iteration, loss, accuracy, lambda, lr, angle, featureNorm, imagesPerSecond. */
  history: Array<Record<string, number>>;
  metrics: {
    train: Record<string, number>;
    lfw: RecordedProtocol[];
    verification?: Record<string, number>;
    angularFisherScore?: number;
  };
  paper: { lfw: number; source: string } | null;
  /** The `--set path=value` changes made to the experiment's config (already part of identity.config). */
  overrides?: string[];
  artifacts: ArtifactRef[];
  /** Executed notebooks that used this run, relative to the repository root. */
  notebooks?: string[];
  /** Present when a training health check stopped the run: it has a history but no evaluation. */
  failure?: RunFailure;
  /** The files of the code identity with their (shortened) sha256, so `show` can say which files changed since. */
  codeFiles?: Record<string, string>;
  /** Benchmarks evaluated after the run (`sphereface eval`; benchmark-eval.ts); not part of the run ID. */
  benchmarks?: BenchmarkEvaluation[];
}

/**
 * One benchmark evaluated with a model (`sphereface eval`): its protocols are named `<name>/<protocol>`, so that they
 * never read as LFW's. `evaluationId` is the content hash of what determines the result (the model, the benchmark's
 * data hash, the crop and normalisation, the evaluation code and the backend).
 */
export interface BenchmarkEvaluation {
  /** The benchmark's name: a .bin file's stem (`cfp_fp`), or `ytf`. */
  name: string;
  kind: 'verification-bin' | 'ytf';
  /** sha256 of the .bin file; for YTF the content hash of splits.txt, the frames used and their boxes. */
  dataHash: string;
  pairs: number;
  evaluationId: string;
  /** How the images were cut and normalised for the model: crop [height, width], template, decoder, normalisation. */
  input: { crop: [number, number]; template: string; decoder: string; normalise: string };
  protocols: RecordedProtocol[];
  /** The canonical protocol's ROC figures (auc, eer, tar@far=…). */
  verification?: Record<string, number>;
  evaluatedAt: string;
  seconds: number;
  /** The tfjs backend the features were computed on. */
  backend: string;
  /** The evaluation code's identity hash (its module graph and the lockfile) and the git state. */
  code: { hash: string; commit: string | null; dirty: boolean };
}

/** Why `b` is not a well-formed BenchmarkEvaluation, or null. */
export function benchmarkEvaluationProblem(b: BenchmarkEvaluation): string | null {
  if (!b || typeof b !== 'object') return 'an entry is not an object';
  if (typeof b.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(b.name)) return `name ${JSON.stringify(b.name)} is not a benchmark name`;
  if (b.kind !== 'verification-bin' && b.kind !== 'ytf') return `${b.name}: kind ${JSON.stringify(b.kind)} is not verification-bin or ytf`;
  if (typeof b.dataHash !== 'string' || !/^[0-9a-f]{64}$/.test(b.dataHash)) return `${b.name}: dataHash must be a sha256`;
  if (typeof b.evaluationId !== 'string' || !/^[0-9a-f]{16}$/.test(b.evaluationId)) return `${b.name}: evaluationId must be 16 hex digits`;
  if (Number.isNaN(Date.parse(b.evaluatedAt))) return `${b.name}: evaluatedAt is not a date`;
  if (!Array.isArray(b.protocols) || b.protocols.length === 0) return `${b.name}: protocols must be a non-empty array`;
  for (const p of b.protocols) {
    if (typeof p.protocol !== 'string' || !p.protocol.startsWith(`${b.name}/`) || !Number.isFinite(p.mean)) {
      return `${b.name}: protocol ${JSON.stringify(p.protocol)} is malformed (named ${b.name}/…, with a finite mean)`;
    }
  }
  return null;
}

/** Why a run stopped (the trainer's TrainingHealthError). */
export interface RunFailure {
  iteration: number;
  /** HealthKind: 'non-finite' | 'collapsed' | 'underflow' … */
  kind: string;
  diagnosis: string;
}

/** What an attempt at a run produced; the rest of its record comes from the run and the machine. */
export type RunOutcome = Pick<RunRecord, 'history' | 'metrics' | 'artifacts' | 'failure'>;

/** The record of an attempt at run `runId` that started at `startedAt` and ends now (a finished or a failed one). */
export function newRunRecord(args: {
  root: string;
  runId: string;
  identity: RunIdentity;
  backend: object;
  startedAt: Date;
  paper: RunRecord['paper'];
  overrides?: string[];
  codeFiles: Record<string, string>;
  outcome: RunOutcome;
}): RunRecord {
  const endedAt = new Date();
  return {
    schema: RECORD_SCHEMA,
    runId: args.runId,
    identity: args.identity,
    code: codeVersion(args.root),
    backend: args.backend as Record<string, unknown>,
    environment: environmentInfo(),
    startedAt: args.startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    seconds: (endedAt.getTime() - args.startedAt.getTime()) / 1000,
    paper: args.paper,
    ...(args.overrides?.length ? { overrides: args.overrides } : {}),
    ...args.outcome,
    codeFiles: args.codeFiles,
  };
}

export function runIdOf(identity: RunIdentity): string {
  return contentHash(identity).slice(0, 16);
}

/**
 * Run records: experiments/records/<profile>/<runId>.json, or under $SPHEREFACE_RECORDS (tests set it to temporary
 * folders). Nothing here is git-ignored: the cpu records and the smoke records cited by the notebooks executed at the
 * smoke profile are committed, and any other record written here shows up as an untracked file.
 */
export function recordsDir(root: string): string {
  return process.env.SPHEREFACE_RECORDS ?? join(root, 'experiments', 'records');
}

/** The folder of `sphereface eval`'s records of published models, inside the records folder; it holds no run records. */
export const EVALUATIONS_DIR = 'evaluations';

export function recordPath(root: string, runId: string, profile: string): string {
  return join(recordsDir(root), profile, `${runId}.json`);
}

/** Where a recorded run ID lives, whatever its profile; null if it is not recorded. */
function findRecordFile(root: string, runId: string): string | null {
  const dir = recordsDir(root);
  if (!existsSync(dir)) return null;
  for (const profile of readdirSync(dir)) {
    if (profile === EVALUATIONS_DIR) continue;
    const path = join(dir, profile, `${runId}.json`);
    if (existsSync(path)) return path;
  }
  return null;
}

export function isRecorded(root: string, runId: string): boolean {
  return findRecordFile(root, runId) !== null;
}

/**
 * Writes the record atomically (temporary file + rename): an interrupted run leaves no partial record. The temporary
 * files that writers killed mid-write left in the folder (`<id>.json.tmp-<pid>-…`, the PID no longer running) go.
 */
export function writeRecord(root: string, record: RunRecord): string {
  validateRecord(record, 'record to write');
  const path = recordPath(root, record.runId, record.identity.config.profile);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    throw new Error(`cannot write the run record ${path}: ${(error as Error).message}`, { cause: error });
  }
  removeStaleTemporaryFiles(dirname(path));
  return path;
}

export function validateRecord(value: unknown, where: string): RunRecord {
  const r = value as RunRecord;
  const fail = (what: string) => {
    throw new Error(`${where}: not a valid run record: ${what}`);
  };
  if (!r || typeof r !== 'object') fail('not an object');
  if (r.schema !== RECORD_SCHEMA) fail(`schema is ${String(r.schema)}, expected ${RECORD_SCHEMA}`);
  if (typeof r.runId !== 'string' || !/^[0-9a-f]{16}$/.test(r.runId)) fail('runId must be 16 hex digits');
  if (!r.identity?.config) fail('identity.config missing');
  if (runIdOf(r.identity) !== r.runId) fail(`runId ${r.runId} does not match the hash of its identity (${runIdOf(r.identity)})`);
  for (const key of ['startedAt', 'endedAt'] as const) if (Number.isNaN(Date.parse(r[key]))) fail(`${key} is not a date`);
  if (!Array.isArray(r.history)) fail('history must be an array');
  if (!r.metrics || !Array.isArray(r.metrics.lfw)) fail('metrics.lfw must be an array');
  for (const p of r.metrics.lfw) {
    if (typeof p.protocol !== 'string' || !Number.isFinite(p.mean)) fail(`metrics.lfw entry ${JSON.stringify(p.protocol)} is malformed`);
  }
  if (!Array.isArray(r.artifacts)) fail('artifacts must be an array');
  if (r.failure !== undefined && (!Number.isInteger(r.failure.iteration) || typeof r.failure.kind !== 'string' || typeof r.failure.diagnosis !== 'string')) {
    fail('failure must have an integer iteration, a kind and a diagnosis');
  }
  if (r.benchmarks !== undefined) {
    if (!Array.isArray(r.benchmarks)) fail('benchmarks must be an array');
    const names = new Set(r.metrics.lfw.map((p) => p.protocol));
    for (const b of r.benchmarks) {
      const problem = benchmarkEvaluationProblem(b);
      if (problem) fail(`benchmarks: ${problem}`);
      for (const p of b.protocols) {
        if (names.has(p.protocol)) fail(`benchmarks: protocol ${p.protocol} appears twice`);
        names.add(p.protocol);
      }
    }
  }
  return r;
}

export function readRecord(root: string, runId: string): RunRecord {
  const matches = listRecordIds(root).filter((id) => id.startsWith(runId));
  if (matches.length === 0) throw new Error(`no run record '${runId}' in ${recordsDir(root)}`);
  if (matches.length > 1) throw new Error(`run ID prefix '${runId}' is ambiguous: ${matches.join(', ')}`);
  return readRecordFile(findRecordFile(root, matches[0])!);
}

/** Reads and validates one record file; a damaged one is named. */
function readRecordFile(path: string): RunRecord {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message}): the record is damaged (cut short?)`, { cause: error });
  }
  return validateRecord(value, path);
}

export function listRecordIds(root: string): string[] {
  const dir = recordsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== EVALUATIONS_DIR)
    .flatMap((d) => readdirSync(join(dir, d.name)))
    .filter((f) => /^[0-9a-f]{16}\.json$/.test(f))
    .map((f) => f.slice(0, 16))
    .sort();
}

/** Every record; a damaged one throws, naming its file (scanRecords lists the readable ones and the damaged apart). */
export function listRecords(root: string): RunRecord[] {
  return listRecordIds(root).map((id) => readRecord(root, id));
}

export interface DamagedRecord {
  path: string;
  runId: string;
  /** Why it cannot be read, starting with its path. */
  error: string;
}

/** The readable records, and the record files that cannot be read or do not validate. */
export function scanRecords(root: string): { records: RunRecord[]; damaged: DamagedRecord[] } {
  const records: RunRecord[] = [];
  const damaged: DamagedRecord[] = [];
  for (const runId of listRecordIds(root)) {
    const path = findRecordFile(root, runId)!;
    try {
      records.push(readRecordFile(path));
    } catch (error) {
      damaged.push({ path, runId, error: (error as Error).message });
    }
  }
  return { records, damaged };
}
