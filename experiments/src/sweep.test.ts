import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli';
import { repositoryRoot } from './paths';
import { formatSweepStatus, parseSeeds, resolveGrid, sbatchScript, SWEEP_SCHEMA, sweepStatus, type SweepManifest } from './sweep';
import { captureConsole } from './testing/console';

const root = repositoryRoot();
const scratchRoot = mkdtempSync(join(tmpdir(), 'sphereface-sweep-'));
let scratches = 0;
const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS, path: process.env.PATH };

function scratch() {
  const dir = join(scratchRoot, String(++scratches));
  mkdirSync(dir, { recursive: true });
  process.env.SPHEREFACE_RECORDS = join(dir, 'records');
  process.env.SPHEREFACE_ARTIFACTS = join(dir, 'artifacts');
  return { dir, records: join(dir, 'records'), artifacts: join(dir, 'artifacts') };
}

beforeEach(() => scratch());
afterEach(() => {
  vi.restoreAllMocks();
  for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts], ['PATH', saved.path]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));


function manifest(artifacts: string, cells: Array<Partial<SweepManifest['cells'][number]>>, extra: Partial<SweepManifest> = {}): SweepManifest {
  return {
    schema: SWEEP_SCHEMA,
    id: '20261130T000000Z-table3-abcdef',
    createdAt: '2026-11-30T00:00:00.000Z',
    engine: 'slurm',
    jobId: null,
    repository: root,
    artifacts,
    records: process.env.SPHEREFACE_RECORDS!,
    dataRoot: '/data root/with space',
    backend: 'native',
    cells: cells.map((c, i) => ({ experiment: 'table3', variant: 'softmax', profile: 'smoke', seed: i, overrides: [], runId: `${String(i).repeat(16)}`.slice(0, 16), index: i, ...c })),
    ...extra,
  };
}

describe('the grid', () => {
  it('reads seeds as ranges and lists', () => {
    expect(parseSeeds('0-4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('3')).toEqual([3]);
    expect(parseSeeds('0,2,5-6,2')).toEqual([0, 2, 5, 6]);
    for (const bad of ['', '4-1', 'a', '1-', '-1']) expect(() => parseSeeds(bad), bad).toThrow(/--seeds/);
  });

  it('is variants × seeds, variant by variant; unknown variants are named', () => {
    const grid = resolveGrid({ experiment: 'table3', variants: ['softmax', 'a-softmax-m2'], seeds: [0, 1, 2], profile: 'smoke', overrides: ['trainer.iterations=8'] });
    expect(grid.map((c) => `${c.variant}/${c.seed}`)).toEqual(['softmax/0', 'softmax/1', 'softmax/2', 'a-softmax-m2/0', 'a-softmax-m2/1', 'a-softmax-m2/2']);
    expect(grid.every((c) => c.profile === 'smoke' && c.overrides.join() === 'trainer.iterations=8')).toBe(true);
    expect(resolveGrid({ experiment: 'depth', variants: [], all: true, seeds: [0], profile: 'cpu', overrides: [] })).toHaveLength(6);
    expect(resolveGrid({ experiment: 'table3', variants: [], seeds: [0], profile: 'cpu', overrides: [] }).map((c) => c.variant)).toEqual(['a-softmax-m4']);
    expect(() => resolveGrid({ experiment: 'table3', variants: ['softmax', 'm9'], seeds: [0], profile: 'cpu', overrides: [] })).toThrow(/no variant 'm9'; variants: softmax/);
  });
});

describe('the sbatch script', () => {
  it('passes the cluster options through, runs cell i as task i with the sweep’s folders, and writes its exit status', () => {
    const { artifacts, dir } = scratch();
    const m = manifest(artifacts, [{ overrides: ["loss.options.lambda={\"base\": 5}", "note=it's here"] }, { variant: 'a-softmax-m4', index: 1 }]);
    const script = sbatchScript(m, { partition: 'gpu', account: 'lab', time: '04:00:00', mem: '16G', cpusPerTask: '4', gres: 'gpu:1' }, 3);
    for (const line of ['--partition=gpu', '--account=lab', '--time=04:00:00', '--mem=16G', '--cpus-per-task=4', '--gres=gpu:1', '--array=0-1%3']) {
      expect(script).toContain(`#SBATCH ${line}`);
    }
    const plain = sbatchScript(m);
    expect(plain).not.toMatch(/#SBATCH --(partition|account|time|mem|cpus-per-task|gres)=/);
    expect(plain).toMatch(/^#SBATCH --array=0-1$/m);
    expect(spawnSync('bash', ['-n'], { input: script }).status, 'bash parses the script').toBe(0);

    // Run task 0 and task 1 as Slurm would, with `node` replaced by a stub that prints its arguments and environment.
    const sweepDir = join(artifacts, 'sweeps', m.id);
    mkdirSync(join(sweepDir, 'exit'), { recursive: true });
    const stub = join(dir, 'node-stub');
    writeFileSync(stub, '#!/bin/bash\nprintf "%s\\n" "$@"; echo "ENV $SPHEREFACE_ARTIFACTS|$SPHEREFACE_RECORDS|$SPHEREFACE_DATA|$PWD"; exit $STUB_EXIT\n');
    chmodSync(stub, 0o755);
    const runnable = script.replace(`'${process.execPath}'`, `'${stub}'`);
    const task = (index: number, code: number) =>
      spawnSync('bash', ['-c', runnable], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(index), SLURM_ARRAY_JOB_ID: '77', STUB_EXIT: String(code) }, encoding: 'utf8' });
    const first = task(0, 0);
    expect(first.status).toBe(0);
    expect(first.stdout.split('\n').slice(1, 12)).toEqual([
      join(root, 'experiments', 'bin', 'sphereface.mjs'),
      'run',
      'table3',
      '--variant',
      'softmax',
      '--profile',
      'smoke',
      '--seed',
      '0',
      '--set',
      'loss.options.lambda={"base": 5}',
    ]);
    expect(first.stdout).toContain("note=it's here");
    expect(first.stdout).toContain(`ENV ${artifacts}|${m.records}|/data root/with space|${root}`);
    expect(readFileSync(join(sweepDir, 'exit', '0'), 'utf8')).toBe('0\n');
    const second = task(1, 3);
    expect(second.status).toBe(3);
    expect(second.stdout).toContain('a-softmax-m4');
    expect(readFileSync(join(sweepDir, 'exit', '1'), 'utf8')).toBe('3\n');
    expect(task(2, 0).status).toBe(2); // no such cell
  });
});

describe('sweep status without a queue', () => {
  it("shows a task's exit status and error line, and a task that ended without one as stopped", () => {
    const { artifacts } = scratch();
    const m = manifest(artifacts, [{}, {}, { index: null, skipped: 'running in job 12 (task 0)' }], { engine: 'local' });
    const dir = join(artifacts, 'sweeps', m.id);
    mkdirSync(join(dir, 'exit'), { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(m));
    writeFileSync(join(dir, 'exit', '0'), '1\n');
    writeFileSync(join(dir, 'logs', '0.out'), '[1/5] data views\nsphereface: dataset lfw not found\n');
    const status = sweepStatus(root);
    expect(status.cells.map((c) => c.state)).toEqual(['failed', 'stopped', 'pending']);
    expect(status.cells[0].detail).toBe('exit 1: sphereface: dataset lfw not found');
    const text = formatSweepStatus(status);
    expect(text).toMatch(/^-\s+softmax\s+2\s+2222222222222222\s+pending\s+running in job 12 \(task 0\)$/m);
    expect(text).toMatch(/^1 failed, 1 stopped, 1 pending$/m);
    expect(() => sweepStatus(root, '999')).toThrow(/no sweep with job ID or sweep ID '999'/);
    // A job ID is not taken for a prefix of the sweep IDs (which start with the year).
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ ...m, jobId: '2' }));
    expect(sweepStatus(root, '2').manifest.jobId).toBe('2');
    expect(sweepStatus(root, '2026').manifest.id).toBe(m.id);
  });

  it('says how to reach a cluster when sbatch is not installed', async () => {
    scratch();
    process.env.PATH = '/nonexistent';
    const io = captureConsole();
    expect(await main(['sweep', 'table3', '--profile', 'smoke', '--engine', 'slurm'])).toBe(1);
    expect(io.err()).toMatch(/sbatch not found: is this a Slurm login node\?/);
  });

  it('refuses a sweep without an engine, and bad seeds or parallelism', async () => {
    for (const [args, message] of [
      [['sweep', 'table3'], '--engine slurm or --engine local'],
      [['sweep', 'table3', '--engine', 'local', '--seeds', '3-1'], "--seeds '3-1'"],
      [['sweep', 'table3', '--engine', 'local', '--parallel', '0'], '--parallel must be an integer'],
      [['sweep', 'table3', '--engine', 'local', '--all', '--variants', 'softmax'], 'not both'],
    ] as const) {
      const io = captureConsole();
      expect(await main([...args])).toBe(2);
      expect(io.err()).toContain(message);
      vi.restoreAllMocks();
    }
  });
});

describe('sweep --engine local', () => {
  it('runs the missing cells here, two at a time, then runs nothing when all are recorded', async () => {
    const { records, artifacts } = scratch();
    const args = ['sweep', 'table3', '--variants', 'softmax', '--seeds', '0-1', '--profile', 'smoke', '--engine', 'local', '--parallel', '2'];
    let io = captureConsole();
    expect(await main(args), io.err()).toBe(0);
    expect(io.out()).toContain('2 cell(s), 0 recorded, 0 queued in earlier jobs, 2 to run');
    const ids = [...io.out().matchAll(/recorded \(run ([0-9a-f]{16})\)/g)].map((m) => m[1]).sort();
    expect(ids).toHaveLength(2);
    expect(readdirSync(join(records, 'smoke')).sort()).toEqual(ids.map((id) => `${id}.json`));
    expect(io.out()).toMatch(/^2 recorded$/m);
    vi.restoreAllMocks();

    io = captureConsole();
    expect(await main(args)).toBe(0);
    expect(io.out()).toContain('2 cell(s), 2 recorded, 0 queued in earlier jobs, 0 to run');
    expect(io.out()).toContain('nothing to run');
    expect(readdirSync(join(artifacts, 'sweeps')).filter((d) => d !== 'jobs')).toHaveLength(1);
  }, 180_000);
});
