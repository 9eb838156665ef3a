import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './paths';
import { validateRecord, type RunRecord } from './record';
import type { SweepManifest } from './sweep';
import { startSlurmCluster, type SlurmCluster } from './testing/slurm-cluster';
import { comparableRecord } from './testing/comparable';

// `sphereface sweep --engine slurm` against a real one-node Slurm cluster on localhost (munged, slurmctld, slurmd
// from Debian's munge and slurm-wlm, started by testing/slurm-cluster.ts for this file and stopped after it). Where
// Slurm cannot start, the tests are skipped with the reason (the daemons' logs); under CI=true they fail with it.
const root = repositoryRoot();
const BIN = join(root, 'experiments', 'bin', 'sphereface.mjs');
let scratchRoot: string | null = null; // made by the first test that needs one, so a skipped suite leaves nothing
let scratches = 0;

let cluster: SlurmCluster | null = null;
let unavailable = '';
const startedAt = Date.now();
try {
  cluster = await startSlurmCluster();
  console.log(`slurm: one-node cluster ${cluster.node} up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${cluster.conf})`);
} catch (error) {
  unavailable = (error as Error).message;
}

afterAll(async () => {
  await cluster?.stop();
  if (scratchRoot) rmSync(scratchRoot, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fresh records and artifacts folders, and the environment that points the command and Slurm at them. */
function scratch() {
  scratchRoot ??= mkdtempSync(join(tmpdir(), 'sphereface-sweep-slurm-'));
  const dir = join(scratchRoot, String(++scratches));
  const records = join(dir, 'records');
  const artifacts = join(dir, 'artifacts');
  mkdirSync(dir, { recursive: true });
  return { dir, records, artifacts, env: { ...cluster!.env, SPHEREFACE_RECORDS: records, SPHEREFACE_ARTIFACTS: artifacts } };
}

/** `sphereface …` as a user runs it (a child process), with its output. */
function sphereface(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function squeue(env: NodeJS.ProcessEnv, job?: string): string[] {
  const result = spawnSync('squeue', ['-h', '-r', ...(job ? ['-j', job] : []), '-o', '%i %T'], { env, encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0 && !/Invalid job id/.test(result.stderr)) throw new Error(`squeue failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((l) => l.trim());
}

/** Polls until `done()` holds, at most `seconds`; the error says what was awaited and shows the daemons' logs. */
async function waitFor(what: string, seconds: number, done: () => boolean, intervalMs = 1000): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out after ${seconds} s waiting for ${what}\n${cluster!.logs()}`);
    await sleep(intervalMs);
  }
}

function sweepManifests(artifacts: string): SweepManifest[] {
  const dir = join(artifacts, 'sweeps');
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'sweep.json')))
    .map((d) => JSON.parse(readFileSync(join(dir, d, 'sweep.json'), 'utf8')) as SweepManifest)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function recordFiles(records: string, profile = 'smoke'): string[] {
  const dir = join(records, profile);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
}

const readRecordFile = (records: string, runId: string): RunRecord =>
  validateRecord(JSON.parse(readFileSync(join(records, 'smoke', `${runId}.json`), 'utf8')), runId);


const submittedJob = (out: string) => /submitted job (\d+):/.exec(out)?.[1];

describe('sphereface sweep on a real Slurm cluster', () => {
  if (!cluster) {
    const message = `Slurm could not start: ${unavailable}`;
    if (process.env.CI === 'true') it('needs a one-node Slurm cluster on localhost', () => expect.fail(message));
    else {
      console.warn(`SKIPPED: ${message}`);
      it.skip(`SKIPPED: ${message.split('\n')[0]}`, () => {});
    }
    return;
  }

  it('a smoke sweep of 2 variants × 2 seeds goes through sbatch: four records, status says recorded, a second submission submits nothing', async () => {
    const { records, artifacts, env } = scratch();
    const grid = ['sweep', 'table3', '--variants', 'softmax,a-softmax-m4', '--seeds', '0-1', '--profile', 'smoke', '--engine', 'slurm', '--parallel', '2'];
    const t0 = Date.now();
    const submitted = await sphereface(grid, env);
    expect(submitted.code, submitted.err).toBe(0);
    expect(submitted.out).toContain('4 cell(s), 0 recorded, 0 queued in earlier jobs, 4 to run');
    const job = submittedJob(submitted.out)!;
    expect(submitted.out).toMatch(new RegExp(`submitted job ${job}: array 0-3%2, one task per cell`));
    expect(submitted.out).toContain(`sphereface sweep status ${job}`);
    const [manifest] = sweepManifests(artifacts);
    expect(manifest.jobId).toBe(job);
    const planned = manifest.cells.map((c) => c.runId);
    expect(new Set(planned).size).toBe(4);
    expect(manifest.cells.map((c) => [c.variant, c.seed, c.index])).toEqual([
      ['softmax', 0, 0],
      ['softmax', 1, 1],
      ['a-softmax-m4', 0, 2],
      ['a-softmax-m4', 1, 3],
    ]);

    // Submitted again while the job is queued or running: its cells are not submitted twice.
    const meanwhile = await sphereface(grid, env);
    expect(meanwhile.code, meanwhile.err).toBe(0);
    const counts = /4 cell\(s\), (\d) recorded, (\d) queued in earlier jobs, 0 to run/.exec(meanwhile.out);
    expect(counts, meanwhile.out).not.toBeNull();
    expect(Number(counts![1]) + Number(counts![2])).toBe(4);
    expect(meanwhile.out).not.toContain('submitted job');

    await waitFor(`job ${job} to leave the queue`, 300, () => squeue(env, job).length === 0);
    const seconds = (Date.now() - t0) / 1000;
    // The records the tasks wrote carry exactly the run IDs the sweep computed without training.
    expect(recordFiles(records)).toEqual(planned.map((id) => `${id}.json`).sort());
    for (const cell of manifest.cells) {
      const record = readRecordFile(records, cell.runId);
      expect([record.identity.config.variant, record.identity.config.seed, record.failure]).toEqual([cell.variant, cell.seed, undefined]);
      expect(readFileSync(join(artifacts, 'sweeps', manifest.id, 'exit', String(cell.index)), 'utf8')).toBe('0\n');
    }

    const status = await sphereface(['sweep', 'status', job], env);
    expect(status.code, status.err).toBe(0);
    console.log(`sweep of 4 smoke cells through Slurm: ${seconds.toFixed(1)} s from submission to the last record\n${submitted.out}${status.out}`);
    for (const cell of manifest.cells) {
      expect(status.out).toMatch(new RegExp(`^${cell.index}\\s+${cell.variant}\\s+${cell.seed}\\s+${cell.runId}\\s+recorded\\s+LFW canonical`, 'm'));
    }
    expect(status.out).toMatch(/^4 recorded$/m);
    expect(status.out).toContain('sacct is unavailable here');

    const again = await sphereface(grid, env);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('4 cell(s), 4 recorded, 0 queued in earlier jobs, 0 to run');
    expect(again.out).toContain('nothing to submit');
    expect(again.out).not.toContain('submitted job');
    expect(sweepManifests(artifacts)).toHaveLength(1);
    expect(squeue(env)).toEqual([]);
  }, 420_000);

  it('a task cancelled with scancel while it trains resumes from its checkpoint when the sweep is submitted again, and records what an uninterrupted run records', async () => {
    const overrides = ['trainer.iterations=100', 'trainer.checkpointEvery=5', 'trainer.learningRate=0.05'];
    const cell = ['table3', '--variant', 'a-softmax-m4', '--profile', 'smoke', '--seed', '0', ...overrides.flatMap((o) => ['--set', o])];

    // The uninterrupted run, outside Slurm, in folders of its own.
    const reference = scratch();
    const plain = await sphereface(['run', ...cell], reference.env);
    expect(plain.code, plain.err).toBe(0);
    const [referenceFile] = recordFiles(reference.records);
    const uninterrupted = readRecordFile(reference.records, referenceFile.slice(0, 16));
    expect(uninterrupted.history).toHaveLength(100);

    const { records, artifacts, env } = scratch();
    const grid = ['sweep', 'table3', '--variants', 'a-softmax-m4', '--seeds', '0', '--profile', 'smoke', ...overrides.flatMap((o) => ['--set', o]), '--engine', 'slurm'];
    const first = await sphereface(grid, env);
    expect(first.code, first.err).toBe(0);
    const job = submittedJob(first.out)!;
    const [manifest] = sweepManifests(artifacts);
    const runId = manifest.cells[0].runId;
    expect(runId).toBe(uninterrupted.runId);

    // Cancel once it has trained past two checkpoints (and is still training).
    const latest = join(artifacts, runId, 'checkpoints', 'latest.json');
    const checkpointed = () => (existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as { iteration: number }).iteration : 0);
    const trainLog = join(artifacts, runId, 'train.jsonl');
    const trained = () => (existsSync(trainLog) ? readFileSync(trainLog, 'utf8').split('\n').filter(Boolean).length : 0);
    await waitFor(`run ${runId} to train past its checkpoint at iteration 10 in job ${job}`, 240, () => checkpointed() >= 10 && trained() >= 12, 200);
    expect(squeue(env, job).join('\n')).toMatch(/RUNNING/);
    expect(recordFiles(records), 'the run finished before it could be cancelled: give it more iterations').toEqual([]);
    const cancelledAt = Date.now();
    const cancelled = spawnSync('scancel', [job], { env, encoding: 'utf8' });
    expect(cancelled.status, cancelled.stderr).toBe(0);
    await waitFor(`cancelled job ${job} to leave the queue`, 120, () => squeue(env, job).length === 0, 200);
    const cancelSeconds = (Date.now() - cancelledAt) / 1000;
    const trainedBefore = trained();
    expect(trainedBefore).toBeLessThan(100);
    expect(recordFiles(records)).toEqual([]);
    expect(existsSync(join(artifacts, runId, 'run.lock')), 'the killed run leaves its lock behind').toBe(true);
    const stopped = await sphereface(['sweep', 'status', job], env);
    expect(stopped.code, stopped.err).toBe(0);
    expect(stopped.out).toMatch(new RegExp(`^0\\s+a-softmax-m4\\s+0\\s+${runId}\\s+stopped\\s+not in the queue and no exit status: cancelled, preempted`, 'm'));

    const second = await sphereface(grid, env);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain('1 cell(s), 0 recorded, 0 queued in earlier jobs, 1 to run');
    expect(second.out).toContain(`warning: a-softmax-m4 seed 0: run ${runId} has a lock left by process`);
    const resubmitted = submittedJob(second.out)!;
    expect(resubmitted).not.toBe(job);
    await waitFor(`job ${resubmitted} to leave the queue`, 300, () => squeue(env, resubmitted).length === 0);
    const resumed = sweepManifests(artifacts)[1];
    const log = readFileSync(join(artifacts, 'sweeps', resumed.id, 'logs', '0.out'), 'utf8');
    expect(log).toMatch(/lock of process \d+, which is no longer running: taken over/);
    const from = Number(/resuming from checkpoint \S*ckpt-(\d+) \(iteration (\d+)\)/.exec(log)?.[2]);
    expect(from).toBeGreaterThanOrEqual(10);
    expect(from).toBeLessThanOrEqual(trainedBefore); // what it trained after its newest checkpoint is trained again
    console.log(`cancelled job ${job} after ${trainedBefore} iterations (out of the queue ${cancelSeconds.toFixed(1)} s after scancel); job ${resubmitted} resumed from iteration ${from}`);

    const record = readRecordFile(records, runId);
    expect(comparableRecord(record)).toEqual(comparableRecord(uninterrupted));
    const status = await sphereface(['sweep', 'status', resubmitted], env);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(new RegExp(`^0\\s+a-softmax-m4\\s+0\\s+${runId}\\s+recorded\\s`, 'm'));
  }, 600_000);

  it('a task whose run a training health check stops is shown failed with the diagnosis from its record', async () => {
    const { env } = scratch();
    const grid = ['sweep', 'table3', '--profile', 'smoke', '--set', 'trainer.learningRate=1000', '--set', 'trainer.clipGradNorm=null', '--engine', 'slurm'];
    const submitted = await sphereface(grid, env);
    expect(submitted.code, submitted.err).toBe(0);
    const job = submittedJob(submitted.out)!;
    await waitFor(`job ${job} to leave the queue`, 180, () => squeue(env, job).length === 0);
    const status = await sphereface(['sweep', 'status', job], env);
    expect(status.code, status.err).toBe(0);
    expect(status.out).toMatch(/^0\s+a-softmax-m4\s+0\s+[0-9a-f]{16}\s+failed\s+health check at iteration \d+ \(/m);
    // A recorded failure is not run again: the record is the result.
    const again = await sphereface(grid, env);
    expect(again.out).toContain('nothing to submit');
  }, 300_000);
});
