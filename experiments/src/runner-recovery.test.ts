import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from './paths';
import { readRecord, recordPath, type RunRecord } from './record';
import { runExperiment } from './runner';
import type { RunChildOptions } from './testing/run-child';
import { comparableRecord } from './testing/comparable';

// Kills, concurrent runs and damaged files (issue #12 §3), end to end at the smoke profile on the real data. A kill
// is a child process running the same experiment that SIGKILLs itself at a chosen point (testing/run-child.ts).
const root = repositoryRoot();
const OVERRIDES = ['trainer.iterations=80', 'trainer.checkpointEvery=20', 'trainer.learningRate=0.05'];
const BASE = { root, experiment: 'table3', variant: 'a-softmax-m4', profile: 'smoke' as const, seed: 0, overrides: OVERRIDES };
const CHILD = join(import.meta.dirname, 'testing', 'run-child.ts');

const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS };
const scratchRoot = mkdtempSync(join(tmpdir(), 'sphereface-recovery-'));
let scratches = 0;

/** Fresh records and artifacts folders (the runner and its child processes take them from the environment). */
function scratch() {
  const dir = join(scratchRoot, String(++scratches));
  mkdirSync(dir, { recursive: true });
  const records = join(dir, 'records');
  const artifacts = join(dir, 'artifacts');
  process.env.SPHEREFACE_RECORDS = records;
  process.env.SPHEREFACE_ARTIFACTS = artifacts;
  return { dir, records, artifacts };
}

function startChild(options: RunChildOptions) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(options)], {
    cwd: join(import.meta.dirname, '..'),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines: string[] = [];
  let onPause: (iteration: number) => void = () => undefined;
  const pausedAt = new Promise<number>((resolve) => (onPause = resolve));
  child.on('message', (m: { line?: string; paused?: number }) => {
    if (m.line) lines.push(m.line);
    if (m.paused) onPause(m.paused);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  const failed = exited.then(({ code, signal }) => {
    throw new Error(`child exited (${code ?? signal}) before its stop point: ${stderr}`);
  });
  failed.catch(() => undefined);
  return { child, lines, exited, paused: () => Promise.race([pausedAt, failed]), stderr: () => stderr };
}

/** Runs the experiment in a child process that SIGKILLs itself at the given point. */
async function killedRun(options: RunChildOptions) {
  const run = startChild(options);
  const { code, signal } = await run.exited;
  if (signal !== 'SIGKILL') throw new Error(`the child was to be killed but exited with ${code}: ${run.stderr()}`);
  return run;
}


/** What a full disk leaves at the end of the log: the last line cut short, no newline. */
function tearLastLine(path: string): string {
  const text = readFileSync(path, 'utf8');
  const cut = text.slice(0, text.length - 1 - Math.floor(text.trimEnd().split('\n').pop()!.length / 2));
  writeFileSync(path, cut);
  return cut;
}

const logLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('sphereface run: kills, concurrent runs and damaged files', () => {
  let reference: RunRecord;

  beforeAll(async () => {
    scratch();
    const record = await runExperiment({ ...BASE, log: () => undefined });
    reference = readRecord(root, record.runId);
    expect(reference.history).toHaveLength(80);
  });
  afterAll(() => {
    rmSync(scratchRoot, { recursive: true, force: true });
    for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('a run killed after iteration 51 (checkpoints every 20) resumes from 40 and records iteration 40 and every other as an uninterrupted run does', async () => {
    scratch();
    await killedRun({ run: BASE, killAfterIteration: 51 });
    const lines: string[] = [];
    const record = await runExperiment({ ...BASE, log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('resuming'))).toMatch(/ckpt-00000040 \(iteration 40\)/);
    const stored = readRecord(root, record.runId);
    expect(stored.history.map((h) => h.iteration)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(comparableRecord(stored).history[39]).toEqual(comparableRecord(reference).history[39]);
    expect(comparableRecord(stored)).toEqual(comparableRecord(reference));
  });

  it('a run killed during evaluation ([4/5]) and run again records exactly what an uninterrupted run records', async () => {
    scratch();
    await killedRun({ run: BASE, killAtLine: '[4/5]' });
    const record = await runExperiment({ ...BASE, log: () => undefined });
    const stored = readRecord(root, record.runId);
    expect(stored.metrics.train).toEqual(reference.metrics.train);
    expect(comparableRecord(stored)).toEqual(comparableRecord(reference));
  });

  it("a second run of the same ID while the first trains is refused, naming the first's PID; the lock of a killed run is taken over", async () => {
    const { artifacts } = scratch();
    const first = startChild({ run: BASE, pauseAfterIteration: 30 });
    expect(await first.paused()).toBe(30);
    const lines: string[] = [];
    const error = await runExperiment({ ...BASE, log: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`run ${reference.runId} is already running in process ${first.child.pid} `));
    expect(lines.some((l) => l.startsWith('[2/5]'))).toBe(false);
    expect(logLines(join(artifacts, reference.runId, 'train.jsonl'))).toHaveLength(30); // nothing of the refused run

    first.child.kill('SIGKILL');
    await first.exited;
    lines.length = 0;
    const record = await runExperiment({ ...BASE, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(new RegExp(`lock of process ${first.child.pid}, which is no longer running: taken over`));
    expect(comparableRecord(readRecord(root, record.runId))).toEqual(comparableRecord(reference));
    expect(readdirSync(join(artifacts, reference.runId))).not.toContain('run.lock'); // released
  });

  it('a log whose last line a full disk cut short no longer blocks the run', async () => {
    const { artifacts } = scratch();
    await killedRun({ run: BASE, killAfterIteration: 25 });
    const log = join(artifacts, reference.runId, 'train.jsonl');
    tearLastLine(log);
    const lines: string[] = [];
    const record = await runExperiment({ ...BASE, log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('resuming'))).toMatch(/ckpt-00000020 \(iteration 20\)/);
    expect(readFileSync(log, 'utf8')).toContain('{"event":"torn-line-dropped"');
    expect(comparableRecord(readRecord(root, record.runId))).toEqual(comparableRecord(reference));
  });

  it('--force starts clean: no resume from what earlier attempts left, and a log of one attempt', async () => {
    const { artifacts } = scratch();
    await killedRun({ run: BASE, killAfterIteration: 25 });
    const log = join(artifacts, reference.runId, 'train.jsonl');
    tearLastLine(log);
    for (let attempt = 0; attempt < 2; attempt++) {
      // The second time the run is recorded and its final checkpoint exists: --force must still train from 0.
      const lines: string[] = [];
      const record = await runExperiment({ ...BASE, force: true, log: (l) => lines.push(l) });
      expect(lines.some((l) => l.startsWith('resuming'))).toBe(false);
      expect(lines.some((l) => l.startsWith('[3/5] training'))).toBe(true);
      expect(logLines(log).map((l) => JSON.parse(l).iteration)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      expect(comparableRecord(readRecord(root, record.runId))).toEqual(comparableRecord(reference));
    }
  });

  it.each([
    ['latest.json replaced by garbage', 'checkpoints/latest.json', (p: string) => writeFileSync(p, 'garbage{'), 'ckpt-00000040'],
    ["ckpt-00000040's backbone weights cut short", 'checkpoints/ckpt-00000040/backbone/weights.bin', (p: string) => truncateSync(p, 72), 'ckpt-00000020'],
  ])('a damaged checkpoint (%s) is named, the newest intact one is used, and the record is the uninterrupted one', async (_, file, damage, from) => {
    const { artifacts } = scratch();
    await killedRun({ run: BASE, killAfterIteration: 51 });
    const runDir = join(artifacts, reference.runId);
    damage(join(runDir, file));
    const lines: string[] = [];
    const record = await runExperiment({ ...BASE, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain(join(runDir, file));
    expect(lines.find((l) => l.startsWith('resuming'))).toContain(join(runDir, 'checkpoints', from));
    expect(comparableRecord(readRecord(root, record.runId))).toEqual(comparableRecord(reference));
  });

  it('the temporary files a killed run left in its artifacts folder are removed when it runs again', async () => {
    const { artifacts } = scratch();
    const killed = await killedRun({ run: BASE, killAfterIteration: 25 });
    const runDir = join(artifacts, reference.runId);
    // What writeFileAtomic and the checkpoint writer leave when the kill lands inside a write.
    const pid = killed.child.pid;
    const leftovers = [`checkpoints/latest.json.tmp-${pid}-k2j3`, `checkpoints/.tmp-ckpt-00000040-${pid}/head/weights.bin.tmp-${pid}-x`, `lfw-features.f32.tmp-${pid}-p9`];
    for (const f of leftovers) {
      mkdirSync(join(runDir, f, '..'), { recursive: true });
      writeFileSync(join(runDir, f), 'partial');
    }
    await runExperiment({ ...BASE, log: () => undefined });
    const all = readdirSync(runDir, { recursive: true }) as string[];
    expect(all.filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('a damaged record of the run itself is named; --force trains the run again and rewrites it', async () => {
    scratch();
    const quick = { root, experiment: 'table3', variant: 'a-softmax-m4', profile: 'smoke' as const, seed: 0, log: () => undefined };
    const record = await runExperiment(quick);
    const path = recordPath(root, record.runId, 'smoke');
    truncateSync(path, 1000);
    await expect(runExperiment(quick)).rejects.toThrow(new RegExp(`${path}: not valid JSON .*--force`));
    const again = await runExperiment({ ...quick, force: true });
    expect(readRecord(root, again.runId).metrics).toEqual(JSON.parse(JSON.stringify(record.metrics)));
  });

  it('an unwritable records or artifacts folder is reported before training, naming the folder', async () => {
    const { dir, records, artifacts } = scratch();
    writeFileSync(join(dir, 'file'), '');
    const cases: Array<[string, string]> = [
      ['SPHEREFACE_RECORDS', join(dir, 'file', 'records')],
      ['SPHEREFACE_ARTIFACTS', join(dir, 'file', 'artifacts')],
    ];
    if (process.getuid?.() !== 0) {
      // Permissions do not stop root, so this case only runs for other users.
      mkdirSync(join(dir, 'read-only'), { mode: 0o555 });
      chmodSync(join(dir, 'read-only'), 0o555);
      cases.push(['SPHEREFACE_RECORDS', join(dir, 'read-only')], ['SPHEREFACE_ARTIFACTS', join(dir, 'read-only')]);
    }
    for (const [variable, folder] of cases) {
      process.env.SPHEREFACE_RECORDS = records;
      process.env.SPHEREFACE_ARTIFACTS = artifacts;
      process.env[variable] = folder;
      const lines: string[] = [];
      const error = await runExperiment({ ...BASE, log: (l) => lines.push(l) }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(new RegExp(`${variable === 'SPHEREFACE_RECORDS' ? 'records' : 'artifacts'} folder ${folder}\\S* is not writable .*${variable}`));
      expect(lines.some((l) => l.startsWith('[2/5]'))).toBe(false);
    }
  });
});
