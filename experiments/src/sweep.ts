import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resolveDataRoot } from '@sphereface/data';
import { writeFileAtomic } from '@sphereface/common';
import { PROFILES, type Profile } from './config';
import { getExperiment } from './definitions';
import { artifactsRoot } from './paths';
import { isRecorded, readRecord, recordsDir, type RunRecord } from './record';
import { headline } from './report';
import { CellIdentifier, type CellSpec, type IdentifiedCell } from './cell-identity';
import { sacctTasks, sbatch, squeueTasks, type TaskState } from './slurm';

/**
 * Sweeps: a grid of runs (variants × seeds at one profile, with the same --set changes) handed to Slurm as one array
 * job, or run on this machine. Each cell is an ordinary `sphereface run`, so a recorded cell is never run again, an
 * interrupted one resumes from its checkpoint, and the run lock keeps two tasks from training the same run ID.
 *
 * A sweep's files live in $SPHEREFACE_ARTIFACTS/sweeps/<sweep-id>/ (on the cluster's shared filesystem, like the
 * artifacts): sweep.json (the grid with each cell's run ID and array index), job.sbatch, logs/<index>.out and
 * exit/<index> (the exit status a task wrote when `sphereface run` ended). sweeps/jobs/<job-id> names the sweep of
 * a Slurm job.
 */

export const SWEEP_SCHEMA = 'sphereface-ts/sweep@1';

export interface SweepCell extends CellSpec {
  runId: string;
  /** The array index (or local slot) of the cell when it was run by this sweep; null when it was skipped. */
  index: number | null;
  /** Why it was not run: recorded already, or queued/running in an earlier sweep's job. */
  skipped?: string;
}

export interface SweepManifest {
  schema: typeof SWEEP_SCHEMA;
  id: string;
  createdAt: string;
  engine: 'slurm' | 'local';
  jobId: string | null;
  repository: string;
  artifacts: string;
  records: string;
  dataRoot: string;
  /** The backend the run IDs were computed with (tf.getBackend() here). */
  backend: string;
  cells: SweepCell[];
}

export interface SlurmOptions {
  partition?: string;
  gres?: string;
  time?: string;
  mem?: string;
  cpusPerTask?: string;
  account?: string;
}

export interface SweepOptions {
  root: string;
  experiment: string;
  /** Variant names; empty: the experiment's default variant. */
  variants: string[];
  all?: boolean;
  seeds: number[];
  profile: Profile;
  overrides: string[];
  engine: 'slurm' | 'local';
  slurm?: SlurmOptions;
  /** Local: runs at once (default 1). Slurm: the array's task limit (`--array=0-n%N`), none when unset. */
  parallel?: number;
  /** Write the sweep and its script but do not submit or run it. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

/** `0-4`, `0,2,7`, `1-3,9` → the seeds, in order, without repeats. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!range) throw new Error(`--seeds '${text}': expected seeds like 0-4 or 0,2,5`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw new Error(`--seeds '${text}': the range ${part.trim()} is empty`);
    for (let s = from; s <= to; s++) if (!seeds.includes(s)) seeds.push(s);
  }
  return seeds;
}

/** The cells of the grid, variant by variant, each with every seed. */
export function resolveGrid(options: Pick<SweepOptions, 'experiment' | 'variants' | 'all' | 'seeds' | 'profile' | 'overrides'>): CellSpec[] {
  const definition = getExperiment(options.experiment);
  if (!PROFILES.includes(options.profile)) throw new Error(`--profile must be one of ${PROFILES.join(', ')}`);
  const known = definition.variants.map((v) => v.name);
  const variants = options.all ? known : options.variants.length > 0 ? options.variants : [definition.defaultVariant];
  const unknown = variants.filter((v) => !known.includes(v));
  if (unknown.length > 0) throw new Error(`experiment '${definition.name}' has no variant ${unknown.map((v) => `'${v}'`).join(', ')}; variants: ${known.join(', ')}`);
  if (options.seeds.length === 0) throw new Error('the sweep has no seeds');
  return variants.flatMap((variant) =>
    options.seeds.map((seed) => ({ experiment: definition.name, variant, profile: options.profile, seed, overrides: [...options.overrides] })),
  );
}

function sweepsDir(root: string): string {
  return join(artifactsRoot(root), 'sweeps');
}

/** The folder of one sweep (under the artifacts folder it was made with). */
export function sweepDir(manifest: SweepManifest): string {
  return join(manifest.artifacts, 'sweeps', manifest.id);
}

/** Single-quoted for bash. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The arguments of `sphereface run` for a cell. */
export function runArguments(cell: CellSpec): string[] {
  return [cell.experiment, '--variant', cell.variant, '--profile', cell.profile, '--seed', String(cell.seed), ...cell.overrides.flatMap((o) => ['--set', o])];
}

/** The environment every task runs with: the folders and data root resolved here, so nodes use the same ones. */
function taskEnvironment(manifest: SweepManifest): Record<string, string> {
  return {
    SPHEREFACE_ARTIFACTS: manifest.artifacts,
    SPHEREFACE_RECORDS: manifest.records,
    SPHEREFACE_DATA: manifest.dataRoot,
    ...(process.env.SPHEREFACE_BACKEND ? { SPHEREFACE_BACKEND: process.env.SPHEREFACE_BACKEND } : {}),
  };
}

/** The sbatch array script: task i runs cell i's `sphereface run` and writes its exit status to exit/i. */
export function sbatchScript(manifest: SweepManifest, slurm: SlurmOptions = {}, parallel?: number): string {
  const dir = sweepDir(manifest);
  const run = manifest.cells.filter((c) => c.index !== null);
  const directives: Array<[string, string | undefined]> = [
    ['job-name', `sphereface-${run[0].experiment}`],
    ['array', `0-${run.length - 1}${parallel ? `%${parallel}` : ''}`],
    ['output', join(dir, 'logs', '%a.out')],
    // A requeued (preempted) task appends to its log instead of replacing the first attempt's.
    ['open-mode', 'append'],
    ['partition', slurm.partition],
    ['account', slurm.account],
    ['time', slurm.time],
    ['mem', slurm.mem],
    ['cpus-per-task', slurm.cpusPerTask],
    ['gres', slurm.gres],
  ];
  const env = Object.entries(taskEnvironment(manifest)).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  const cases = run.map((c) => `  ${c.index}) cell=(${runArguments(c).map(shellQuote).join(' ')}) ;;  # run ${c.runId}`);
  return [
    '#!/bin/bash',
    ...directives.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `#SBATCH --${k}=${v}`),
    `# sphereface sweep ${manifest.id}: ${run.length} cell(s) of ${manifest.cells[0].experiment} at the ${manifest.cells[0].profile} profile (written by \`sphereface sweep\`).`,
    'set -u',
    `cd ${shellQuote(manifest.repository)}`,
    ...env,
    'case "${SLURM_ARRAY_TASK_ID:?this script runs as a Slurm array task}" in',
    ...cases,
    '  *) echo "sphereface sweep: no cell ${SLURM_ARRAY_TASK_ID} in this sweep" >&2; exit 2 ;;',
    'esac',
    'echo "sphereface sweep: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ): sphereface run ${cell[*]}"',
    `${shellQuote(process.execPath)} ${shellQuote(join(manifest.repository, 'experiments', 'bin', 'sphereface.mjs'))} run "\${cell[@]}"`,
    'code=$?',
    `exit_file=${shellQuote(join(dir, 'exit'))}/"$SLURM_ARRAY_TASK_ID"`,
    'printf \'%s\\n\' "$code" > "$exit_file.tmp.$$" && mv -f "$exit_file.tmp.$$" "$exit_file"',
    'exit "$code"',
    '',
  ].join('\n');
}

function newSweepId(experiment: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${experiment}-${randomBytes(3).toString('hex')}`;
}

function writeManifest(manifest: SweepManifest): void {
  writeFileAtomic(join(sweepDir(manifest), 'sweep.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Every sweep's manifest here, oldest first. */
export function listSweeps(root: string): SweepManifest[] {
  const dir = sweepsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'sweep.json')))
    .map((name) => JSON.parse(readFileSync(join(dir, name, 'sweep.json'), 'utf8')) as SweepManifest)
    .filter((m) => m.schema === SWEEP_SCHEMA)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** A sweep by job ID or sweep ID (a prefix will do); the newest one when none is named. */
export function findSweep(root: string, which?: string): SweepManifest {
  const sweeps = listSweeps(root);
  if (sweeps.length === 0) throw new Error(`no sweeps in ${sweepsDir(root)} (\`sphereface sweep <experiment> …\` starts one; SPHEREFACE_ARTIFACTS chooses the folder)`);
  if (!which) return sweeps[sweeps.length - 1];
  // A job ID first: sweep IDs start with a date, so a short job ID is also a prefix of every sweep ID.
  const byJob = sweeps.filter((s) => s.jobId === which);
  const found = byJob.length > 0 ? byJob : sweeps.filter((s) => s.id.startsWith(which));
  if (found.length === 0) throw new Error(`no sweep with job ID or sweep ID '${which}' in ${sweepsDir(root)}`);
  if (found.length > 1) throw new Error(`'${which}' names ${found.length} sweeps: ${found.map((s) => s.id).join(', ')}`);
  return found[0];
}

/** The run IDs that earlier sweeps' Slurm tasks are running or have queued, with the job and task. */
function queuedElsewhere(root: string): Map<string, string> {
  const queued = new Map<string, string>();
  for (const sweep of listSweeps(root)) {
    if (sweep.engine !== 'slurm' || !sweep.jobId) continue;
    let tasks: TaskState[];
    try {
      tasks = squeueTasks(sweep.jobId);
    } catch {
      continue;
    }
    for (const task of tasks) {
      const cell = sweep.cells.find((c) => c.index === task.index);
      if (cell) queued.set(cell.runId, `${task.state.toLowerCase()} in job ${sweep.jobId} (task ${task.index})`);
    }
  }
  return queued;
}

export interface SweepResult {
  manifest: SweepManifest | null;
  /** The cells of the grid with their run IDs, whether run now or skipped. */
  cells: SweepCell[];
  jobId: string | null;
  /** Local engine: the cells that failed. */
  failed: SweepCell[];
}

/**
 * Resolves the grid, skips the recorded run IDs (and, for Slurm, those an earlier sweep's job still has queued or
 * running), then submits one sbatch array job with a task per remaining cell, or runs them here.
 */
export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { root } = options;
  const grid = resolveGrid(options);
  const identifier = await CellIdentifier.create(root);
  const identified: IdentifiedCell[] = grid.map((cell) => identifier.identify(cell));
  const queued = options.engine === 'slurm' ? queuedElsewhere(root) : new Map<string, string>();
  let next = 0;
  const cells: SweepCell[] = identified.map(({ config: _, ...cell }) => {
    if (isRecorded(root, cell.runId)) return { ...cell, index: null, skipped: 'recorded' };
    const elsewhere = queued.get(cell.runId);
    if (elsewhere) return { ...cell, index: null, skipped: elsewhere };
    return { ...cell, index: next++ };
  });
  const toRun = cells.filter((c) => c.index !== null);
  const recorded = cells.filter((c) => c.skipped === 'recorded').length;
  const label = `${grid[0].experiment} at the ${options.profile} profile (${[...new Set(grid.map((c) => c.variant))].length} variant(s) × ${options.seeds.length} seed(s))`;
  log(`sweep of ${label}: ${cells.length} cell(s), ${recorded} recorded, ${cells.length - recorded - toRun.length} queued in earlier jobs, ${toRun.length} to run`);
  for (const c of cells.filter((c) => c.skipped && c.skipped !== 'recorded')) log(`  ${c.variant} seed ${c.seed} (run ${c.runId}): ${c.skipped}`);
  for (const cell of toRun) {
    const warning = leftLock(artifactsRoot(root), cell.runId);
    if (warning) log(`warning: ${cell.variant} seed ${cell.seed}: ${warning}`);
  }
  if (toRun.length === 0) {
    log(`nothing to ${options.engine === 'slurm' ? 'submit' : 'run'}: every cell is recorded${recorded < cells.length ? ' or queued' : ''}`);
    return { manifest: null, cells, jobId: null, failed: [] };
  }

  const manifest: SweepManifest = {
    schema: SWEEP_SCHEMA,
    id: newSweepId(grid[0].experiment),
    createdAt: new Date().toISOString(),
    engine: options.engine,
    jobId: null,
    repository: root,
    artifacts: artifactsRoot(root),
    records: resolve(recordsDir(root)),
    dataRoot: resolveDataRoot().path,
    backend: identifier.backend,
    cells,
  };
  const dir = sweepDir(manifest);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'exit'), { recursive: true });
  writeManifest(manifest);

  if (options.engine === 'slurm') {
    const script = join(dir, 'job.sbatch');
    writeFileSync(script, sbatchScript(manifest, options.slurm, options.parallel), { mode: 0o755 });
    if (options.dryRun) {
      log(`dry run: wrote ${script} (not submitted; \`sbatch ${script}\` submits it)`);
      return { manifest, cells, jobId: null, failed: [] };
    }
    const jobId = sbatch(script);
    manifest.jobId = jobId;
    writeManifest(manifest);
    mkdirSync(join(sweepsDir(root), 'jobs'), { recursive: true });
    writeFileAtomic(join(sweepsDir(root), 'jobs', jobId), `${manifest.id}\n`);
    log(`submitted job ${jobId}: array 0-${toRun.length - 1}${options.parallel ? `%${options.parallel}` : ''}, one task per cell (sweep ${manifest.id})`);
    log(`  watch it:   npx sphereface sweep status ${jobId}    (or: squeue -r -j ${jobId})`);
    log(`  task logs:  ${join(dir, 'logs')}/<task>.out`);
    log(`  cancel it:  scancel ${jobId}; submitting the same sweep again runs only what is not recorded, resuming from checkpoints`);
    return { manifest, cells, jobId, failed: [] };
  }

  if (options.dryRun) {
    log(`dry run: would run ${toRun.length} cell(s) here`);
    return { manifest, cells, jobId: null, failed: [] };
  }
  const failed = await runLocally(manifest, options.parallel ?? 1, log);
  return { manifest, cells, jobId: null, failed };
}

/**
 * The lock a killed or preempted attempt left in the run's artifacts folder (run-lock.ts), which no job of a sweep
 * here is running. On the host that wrote it the next attempt takes it over once its process is gone; from another
 * node it cannot be checked, so the task there would be refused until it is deleted.
 */
function leftLock(artifacts: string, runId: string): string | null {
  const path = join(artifacts, runId, 'run.lock');
  if (!existsSync(path)) return null;
  let holder: { pid?: number; host?: string; since?: string } = {};
  try {
    holder = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // unreadable: the runner treats it as stale
  }
  return (
    `run ${runId} has a lock left by process ${holder.pid ?? '?'} on ${holder.host ?? '?'} (since ${holder.since ?? '?'}): ${path}. ` +
    `A task on ${holder.host ?? 'that host'} takes it over once that process is gone; a task on another node is refused ` +
    `while it exists, so if that process is no longer running anywhere, delete the lock`
  );
}

/** Runs the sweep's cells on this machine, `parallel` at a time, each as its own `sphereface run` process. */
async function runLocally(manifest: SweepManifest, parallel: number, log: (line: string) => void): Promise<SweepCell[]> {
  const dir = sweepDir(manifest);
  const queue = manifest.cells.filter((c) => c.index !== null);
  const total = queue.length;
  const failed: SweepCell[] = [];
  const runOne = (cell: SweepCell) =>
    new Promise<void>((done) => {
      const logFile = join(dir, 'logs', `${cell.index}.out`);
      const out = createWriteStream(logFile, { flags: 'a' });
      log(`[${cell.index! + 1}/${total}] ${cell.variant} seed ${cell.seed} (run ${cell.runId}): started; log ${logFile}`);
      const child = spawn(process.execPath, [join(manifest.repository, 'experiments', 'bin', 'sphereface.mjs'), 'run', ...runArguments(cell)], {
        cwd: manifest.repository,
        env: { ...process.env, ...taskEnvironment(manifest) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(out, { end: false });
      child.on('close', (code, signal) => {
        out.end();
        const status = code ?? 128;
        writeFileAtomic(join(dir, 'exit', String(cell.index)), `${status}\n`);
        if (status === 0) log(`[${cell.index! + 1}/${total}] ${cell.variant} seed ${cell.seed}: recorded (run ${cell.runId})`);
        else {
          failed.push(cell);
          log(`[${cell.index! + 1}/${total}] ${cell.variant} seed ${cell.seed}: failed (${signal ?? `exit ${code}`}): ${lastError(logFile) ?? 'see the log'}`);
        }
        done();
      });
    });
  const workers = Array.from({ length: Math.max(1, Math.min(parallel, total)) }, async () => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) await runOne(cell);
  });
  await Promise.all(workers);
  return failed;
}

/** The last `sphereface: …` error line of a task's log (what `sphereface run` printed when it failed). */
function lastError(logFile: string): string | null {
  if (!existsSync(logFile)) return null;
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim());
  return [...lines].reverse().find((l) => l.startsWith('sphereface: ')) ?? lines.at(-1) ?? null;
}

export type CellState = 'recorded' | 'failed' | 'running' | 'pending' | 'stopped' | 'not run';

export interface CellStatus {
  cell: SweepCell;
  state: CellState;
  detail: string;
}

export interface SweepStatus {
  manifest: SweepManifest;
  cells: CellStatus[];
  /** How the states were found (e.g. that sacct is unavailable here). */
  notes: string[];
}

/**
 * Each cell's state: recorded (or failed, with the health check's diagnosis) from the records; pending or running
 * from squeue; for a task that has left the queue without a record, its end from sacct when the cluster keeps
 * accounting, else from the exit status the task wrote (none: the task was cancelled, preempted, timed out or lost).
 */
export function sweepStatus(root: string, which?: string): SweepStatus {
  const manifest = findSweep(root, which);
  const notes: string[] = [];
  const dir = sweepDir(manifest);
  let queue: TaskState[] = [];
  let accounting: TaskState[] | null = null;
  if (manifest.engine === 'slurm' && manifest.jobId) {
    queue = squeueTasks(manifest.jobId);
    const sacct = sacctTasks(manifest.jobId);
    if ('tasks' in sacct) accounting = sacct.tasks;
    else {
      notes.push(
        `sacct is unavailable here (${sacct.unavailable.split('\n')[0]}): states come from squeue, the records and the exit status each task wrote ` +
          `(a task that left the queue without one was cancelled, preempted, timed out or lost)`,
      );
    }
  }
  const cells = manifest.cells.map((cell): CellStatus => {
    const record = recordOf(root, cell.runId);
    if (record) {
      if (record.failure) return { cell, state: 'failed', detail: `health check at iteration ${record.failure.iteration} (${record.failure.kind}): ${record.failure.diagnosis}` };
      const h = headline(record);
      return { cell, state: 'recorded', detail: `${h ? `LFW ${h.protocol} ${(h.mean * 100).toFixed(2)} %, ` : ''}${record.seconds.toFixed(0)} s${cell.skipped === 'recorded' ? ' (recorded before this sweep)' : ''}` };
    }
    if (cell.index === null) return { cell, state: cell.skipped === 'recorded' ? 'not run' : 'pending', detail: cell.skipped ?? '' };
    const inQueue = queue.find((t) => t.index === cell.index);
    if (inQueue) {
      const state: CellState = inQueue.state === 'PENDING' ? 'pending' : 'running';
      return { cell, state, detail: [inQueue.state.toLowerCase(), inQueue.detail, inQueue.node && state === 'running' ? `on ${inQueue.node}` : ''].filter(Boolean).join(', ') };
    }
    const logFile = join(dir, 'logs', `${cell.index}.out`);
    const exitFile = join(dir, 'exit', String(cell.index));
    const code = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : null;
    const accounted = accounting?.find((t) => t.index === cell.index);
    if (code !== null && code !== 0) return { cell, state: 'failed', detail: `exit ${code}${accounted ? ` (Slurm ${accounted.state})` : ''}: ${lastError(logFile) ?? `no log at ${logFile}`}` };
    if (code === 0) return { cell, state: 'failed', detail: `sphereface run exited 0 but no record ${cell.runId} is in ${recordsDir(root)}: do the nodes write the same records folder?` };
    if (accounted && ['PENDING', 'RUNNING', 'REQUEUED', 'SUSPENDED'].includes(accounted.state)) return { cell, state: accounted.state === 'RUNNING' ? 'running' : 'pending', detail: accounted.state.toLowerCase() };
    if (manifest.engine === 'local' && existsSync(join(manifest.artifacts, cell.runId, 'run.lock'))) return { cell, state: 'running', detail: `lock ${join(manifest.artifacts, cell.runId, 'run.lock')}` };
    const how = accounted ? `Slurm ${accounted.state}, exit ${accounted.detail}` : manifest.engine === 'slurm' ? 'not in the queue and no exit status: cancelled, preempted, timed out or lost' : 'no exit status';
    return { cell, state: 'stopped', detail: `${how}; submitting the sweep again resumes it from its newest checkpoint` };
  });
  return { manifest, cells, notes };
}

function recordOf(root: string, runId: string): RunRecord | null {
  if (!isRecorded(root, runId)) return null;
  try {
    return readRecord(root, runId);
  } catch {
    return null;
  }
}

export function formatSweepStatus(status: SweepStatus): string {
  const { manifest } = status;
  const rows = status.cells.map(({ cell, state, detail }) => [cell.index === null ? '-' : String(cell.index), cell.variant, String(cell.seed), cell.runId, state, detail]);
  const header = ['task', 'variant', 'seed', 'run ID', 'state', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  const counts = new Map<string, number>();
  for (const c of status.cells) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  return [
    `sweep ${manifest.id}: ${manifest.engine}${manifest.jobId ? ` job ${manifest.jobId}` : ''}, ${manifest.cells.length} cell(s) of ${manifest.cells[0].experiment} (${manifest.cells[0].profile} profile${manifest.cells[0].overrides.length ? `, ${manifest.cells[0].overrides.join(' ')}` : ''}), submitted ${manifest.createdAt}`,
    line(header),
    ...rows.map(line),
    [...counts].map(([state, n]) => `${n} ${state}`).join(', '),
    ...status.notes.map((n) => `note: ${n}`),
  ].join('\n');
}
