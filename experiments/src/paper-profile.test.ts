import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cropStoreKey, InsightfaceRecBuilder, resolveAlign } from '@sphereface/data';
import { hashCacheFile } from '@sphereface/data/sources';
import { generateFaces, sphereFaceLines, tinyJpeg, writeZip, type Fixture } from '@sphereface/data/testing';
import { CellIdentifier } from './cell-identity';
import { codeIdentity } from './code-identity';
import { main, trainDataOverrides } from './cli';
import { ConfigError } from './config';
import { resolveConfig } from './definitions';
import { repositoryRoot } from './paths';
import { readRecord, type RunRecord } from './record';
import { runExperiment, type RunOptions } from './runner';
import { comparableRecord } from './testing/comparable';
import { captureConsole } from './testing/console';
import type { RunChildOptions } from './testing/run-child';
import { dataViews } from './views';

// `sphereface run table3 --profile paper --train-data PATH [--train-landmarks FILE]` end to end on generated data, in
// each of the three layouts a training set named by a path may have: an identity-folder tree with a SphereFace-format
// landmark file, the same tree as a .zip (read in place), and an insightface RecordIO folder of aligned crops. The
// paper recipe is shrunk with `--set` overrides only; nothing in the runner knows it is a test.
const root = repositoryRoot();
const EXPERIMENT = { root, experiment: 'table3', variant: 'a-softmax-m4', profile: 'paper' as const, seed: 0 };
const SHRINK = [
  'model.name=sphereface4',
  'model.widthMultiplier=0.125',
  'model.embeddingDim=64',
  'data.crop=[56,48]',
  'trainer.batchSize=8',
  'trainer.iterations=4',
  'trainer.lrSteps=[2]',
  'trainer.checkpointEvery=2',
  'data.test.pairsPerFold=20',
];
/** 24 identities with 4, 5 or 6 images each: 120 images. */
const COUNTS = Array.from({ length: 24 }, (_, i) => 4 + (i % 3));
const IMAGES = COUNTS.reduce((a, b) => a + b, 0);
const CHILD = join(import.meta.dirname, 'testing', 'run-child.ts');

const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS };
const scratch = mkdtempSync(join(tmpdir(), 'sphereface-paper-'));
let scratches = 0;

/** Fresh records and artifacts folders (the runner and a child process take them from the environment). */
function freshRecords(): void {
  const dir = join(scratch, `run-${++scratches}`);
  process.env.SPHEREFACE_RECORDS = join(dir, 'records');
  process.env.SPHEREFACE_ARTIFACTS = join(dir, 'artifacts');
}

interface Source {
  name: 'tree' | 'zip' | 'recordio';
  /** What `--train-data` names, and `--train-landmarks` (tree and zip). */
  data: string;
  landmarks?: string;
}

/**
 * CASIA-WebFace as its authors distribute it: `<dir>/CASIA-WebFace/<7-digit id>/<nnn>.jpg` (generated 150×150 faces
 * with known 5-point landmarks) and the SphereFace landmark file (`CASIA-WebFace/<rel>\t<label>\tx1\ty1 … x5\ty5`,
 * 1-based like the MATLAB MTCNN points); `casia.zip` holds the same tree under its top folder.
 */
function writeCasia(dir: string): { tree: Source; zip: Source } {
  const faces = generateFaces(IMAGES, 7);
  const top = 'CASIA-WebFace';
  const fixture: Fixture = { dir, root: join(dir, top), top, images: [] };
  let k = 0;
  COUNTS.forEach((n, label) => {
    const id = String(45 + 13 * label).padStart(7, '0');
    mkdirSync(join(fixture.root, id), { recursive: true });
    for (let j = 1; j <= n; j++, k++) {
      const rel = `${id}/${String(j).padStart(3, '0')}.jpg`;
      const face = faces.items[k];
      writeFileSync(join(fixture.root, rel), readFileSync(join(faces.imageDir, face.rel)));
      fixture.images.push({ rel, label, values: face.landmarks.flatMap(([x, y]) => [x + 1, y + 1]) });
    }
  });
  rmSync(faces.imageDir, { recursive: true, force: true });
  const landmarks = join(dir, 'casia_landmark.txt');
  writeFileSync(landmarks, `${sphereFaceLines(fixture).join('\n')}\n`);
  // As `zip -r casia.zip CASIA-WebFace` writes it: folder entries, then each identity folder's images.
  const entries: [string, Buffer][] = [[`${top}/`, Buffer.alloc(0)]];
  for (const [i, n] of COUNTS.entries()) {
    const id = fixture.images.find((im) => im.label === i)!.rel.split('/')[0];
    entries.push([`${top}/${id}/`, Buffer.alloc(0)]);
    for (let j = 1; j <= n; j++) {
      const rel = `${id}/${String(j).padStart(3, '0')}.jpg`;
      entries.push([`${top}/${rel}`, readFileSync(join(fixture.root, rel))]);
    }
  }
  const zip = join(dir, 'casia.zip');
  writeZip(zip, entries);
  return { tree: { name: 'tree', data: fixture.root, landmarks }, zip: { name: 'zip', data: zip, landmarks } };
}

/** An insightface RecordIO folder (train.rec, train.idx, property `24,112,112`) of 112×112 aligned JPEG crops. */
function writeRecordIo(dir: string): Source {
  mkdirSync(dir, { recursive: true });
  const builder = new InsightfaceRecBuilder(dir, [112, 112]);
  let k = 0;
  COUNTS.forEach((n, label) => builder.add(label, Array.from({ length: n }, () => new Uint8Array(tinyJpeg(1000 + k++, 112, 112)))));
  builder.close();
  return { name: 'recordio', data: dir };
}

const overridesOf = (s: Source) => [...trainDataOverrides('paper', s.data, s.landmarks), ...SHRINK];
const optionsOf = (s: Source, log: (line: string) => void = () => undefined): RunOptions => ({ ...EXPERIMENT, overrides: overridesOf(s), log });
const configOf = (s: Source) => resolveConfig(EXPERIMENT.experiment, EXPERIMENT.variant, 'paper', 0, overridesOf(s));

/**
 * The crop store of a source's training images (content-keyed, under <repo>/.cache). The tree and its zip share one
 * key, so each run starts without it: every source's run decodes its own images (the zip's from the archive).
 */
function removeTrainingCropStore(s: Source): void {
  const { train, align } = dataViews(configOf(s));
  const key = cropStoreKey(train.items.map((it) => it.sha256!), train.items, resolveAlign(align));
  rmSync(join(root, '.cache', 'sphereface-data', 'crop-store', key), { recursive: true, force: true });
}

/** The hash caches (<repo>/.cache, by absolute path) of every folder and zip used here, removed at the end. */
const hashCaches = new Set<string>();
const noteHashCache = (s: Source) => hashCaches.add(hashCacheFile(s.name === 'recordio' ? join(s.data, 'train.rec') : s.data));

/** A copy of a source's data (and landmark file) in other folders, under other names. */
function movedCopy(s: Source): Source {
  const moved = join(scratch, 'moved', s.name);
  const copy: Source = {
    name: s.name,
    data: s.name === 'tree' ? join(moved, 'casia', 'CASIA-WebFace') : s.name === 'zip' ? join(moved, 'CASIA-WebFace.zip') : join(moved, 'ms1m', 'faces_webface'),
    ...(s.landmarks ? { landmarks: join(moved, 'lm', 'landmarks.txt') } : {}),
  };
  cpSync(s.data, copy.data, { recursive: true });
  if (s.landmarks) cpSync(s.landmarks, copy.landmarks!);
  noteHashCache(copy);
  return copy;
}

let tree: Source, zip: Source, recordio: Source;
const records = new Map<Source['name'], RunRecord>();

beforeAll(() => {
  ({ tree, zip } = writeCasia(join(scratch, 'data')));
  recordio = writeRecordIo(join(scratch, 'data', 'faces_webface'));
  [tree, zip, recordio].forEach(noteHashCache);
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => {
  for (const s of [tree, zip, recordio]) if (s) removeTrainingCropStore(s);
  for (const file of hashCaches) rmSync(file, { force: true });
  rmSync(scratch, { recursive: true, force: true });
  for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('trainDataOverrides (--train-data, --train-landmarks)', () => {
  it('names the set by absolute path (JSON strings); the paper profile keeps its casia_webface, others become path', () => {
    const cwd = process.cwd();
    expect(trainDataOverrides('paper', 'casia', 'lm.txt')).toEqual([`data.train.path=${JSON.stringify(join(cwd, 'casia'))}`, `data.train.landmarks=${JSON.stringify(join(cwd, 'lm.txt'))}`]);
    expect(trainDataOverrides('paper', '/data/a b/faces_webface', undefined)).toEqual(['data.train.path="/data/a b/faces_webface"']);
    expect(trainDataOverrides('smoke', '/data/casia.zip', '/data/lm.txt')).toEqual([
      'data.train.dataset=path',
      'data.train.path="/data/casia.zip"',
      'data.train.landmarks="/data/lm.txt"',
    ]);
    expect(trainDataOverrides('cpu', undefined, undefined)).toEqual([]);
    expect(() => trainDataOverrides('paper', undefined, '/data/lm.txt')).toThrow('--train-landmarks goes with --train-data');
    // The overrides resolve to the config fields, and the path is kept exactly (spaces, quotes).
    const config = resolveConfig('table3', 'a-softmax-m4', 'paper', 0, trainDataOverrides('paper', '/data/"odd" dir', '/x/lm.txt'));
    expect(config.data.train).toMatchObject({ dataset: 'casia_webface', path: '/data/"odd" dir', landmarks: '/x/lm.txt' });
  });

  it('`sphereface run --train-landmarks` without --train-data is a usage error (exit 2)', async () => {
    const io = captureConsole();
    expect(await main(['run', 'table3', '--profile', 'paper', '--train-landmarks', '/x/lm.txt'])).toBe(2);
    expect(io.err()).toContain('--train-landmarks goes with --train-data');
  });
});

describe('config errors of --profile paper and --train-data', () => {
  it('--profile paper without --train-data is a ConfigError naming data.train.path that tells the user about --train-data, before anything runs', async () => {
    const lines: string[] = [];
    const error = await runExperiment({ ...EXPERIMENT, overrides: SHRINK, log: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('data.train.path');
    expect((error as Error).message).toMatch(/^config data\.train\.path: .*--train-data PATH/);
    expect((error as Error).message).toContain('--train-landmarks');
    expect(lines).toEqual([]);

    const io = captureConsole();
    expect(await main(['run', 'table3', '--profile', 'paper'])).toBe(1);
    expect(io.err()).toMatch(/^sphereface: config data\.train\.path: .*--train-data/);
  });

  it('a landmark file with a RecordIO folder (aligned crops) is a ConfigError naming data.train.landmarks', async () => {
    const overrides = [...trainDataOverrides('paper', recordio.data, join(scratch, 'data', 'casia_landmark.txt')), ...SHRINK];
    const error = await runExperiment({ ...EXPERIMENT, overrides, log: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('data.train.landmarks');
    expect((error as Error).message).toContain(`${recordio.data} is a RecordIO folder of aligned crops: it takes no landmark file`);
  });
});

describe('sphereface run table3 --profile paper --train-data (generated CASIA-WebFace tree, its zip, a RecordIO folder)', () => {
  // One records folder for the three sources (their run IDs differ), so that the moved copies find their records.
  beforeAll(() => freshRecords());

  it.each(['tree', 'zip', 'recordio'] as const)('trains on the %s and evaluates on LFW; the record is a paper-profile run of the whole set, replayed for a moved copy', async (name) => {
    const source = { tree, zip, recordio }[name];
    removeTrainingCropStore(source);
    const lines: string[] = [];
    const record = await runExperiment(optionsOf(source, (l) => lines.push(l)));
    const stored = readRecord(root, record.runId);
    expect(stored).toEqual(JSON.parse(JSON.stringify(record)));
    records.set(name, stored);

    const config = stored.identity.config;
    expect(config.profile).toBe('paper');
    expect(config.data.train).toEqual({ dataset: 'casia_webface', minImagesPerIdentity: 1, maxIdentities: null, mirror: true });
    expect(config.model).toMatchObject({ name: 'sphereface4', widthMultiplier: 0.125, embeddingDim: 64 });
    expect(config.trainer).toMatchObject({ batchSize: 8, iterations: 4, lrSteps: [2], checkpointEvery: 2 });
    // The run ID leaves the path out; the record still says where the data was (the --set/--train-data overrides).
    expect(stored.overrides).toEqual(overridesOf(source));
    expect(lines).toContain(`[2/5] aligning ${IMAGES} training images of ${COUNTS.length} identities to 56×48`);
    expect(stored.metrics.train).toMatchObject({ identities: COUNTS.length, images: IMAGES, iterations: 4 });
    expect(stored.history.map((h) => h.iteration)).toEqual([1, 2, 3, 4]);
    expect(stored.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    // lr 0.1, divided by 10 at trainer.lrSteps [2].
    expect(stored.history[0].lr).toBeCloseTo(0.1, 12);
    expect(stored.history[3].lr).toBeCloseTo(0.01, 12);
    expect(stored.failure).toBeUndefined();
    expect(stored.metrics.lfw.map((p) => p.protocol)).toEqual(['canonical', 'best-threshold', 'sum-fusion-l2', 'no-flip']);
    expect(stored.metrics.lfw[0].foldAccuracies).toHaveLength(10);
    for (const p of stored.metrics.lfw) expect(p.mean >= 0 && p.mean <= 1, p.protocol).toBe(true);
    expect(stored.artifacts.map((a) => a.name)).toEqual(expect.arrayContaining(['backbone/weights.bin', 'head/weights.bin', 'lfw-features.f32']));

    // The same data moved to another folder (the landmark file too) has the same run ID, as `sweep` computes it and
    // as `run` does: the moved copy replays the record instead of training.
    const moved = movedCopy(source);
    expect(moved.data).not.toBe(source.data);
    const identifier = await CellIdentifier.create(root);
    // (Code edited while this test runs changes the run ID; say so rather than blame the data.)
    expect(stored.identity.code, 'the code changed during the test').toEqual({ hash: codeIdentity(root, stored.identity.backend).hash });
    const cell = (s: Source) => identifier.identify({ experiment: 'table3', variant: 'a-softmax-m4', profile: 'paper', seed: 0, overrides: overridesOf(s) });
    expect(cell(source).runId).toBe(record.runId);
    expect(cell(moved).runId).toBe(record.runId);
    expect(cell(moved).config.data.train.path).toBe(moved.data);
    lines.length = 0;
    const replay = await runExperiment(optionsOf(moved, (l) => lines.push(l)));
    expect(replay).toEqual(stored);
    expect(lines.some((l) => l.includes(`run ${record.runId} is already recorded: replaying the recorded result`))).toBe(true);
    expect(lines.some((l) => l.startsWith('[2/5]') || l.startsWith('[3/5]'))).toBe(false);

    // The command line says the same: `sphereface run … --train-data <moved> [--train-landmarks <moved file>] --set …`.
    const io = captureConsole();
    const argv = ['run', 'table3', '--profile', 'paper', '--train-data', moved.data, ...(moved.landmarks ? ['--train-landmarks', moved.landmarks] : [])];
    expect(await main([...argv, ...SHRINK.flatMap((o) => ['--set', o])]), io.err()).toBe(0);
    expect(io.out()).toContain(`run ${record.runId} is already recorded: replaying the recorded result`);
    expect(io.out()).toContain(`run ${record.runId}: table3/a-softmax-m4 (paper profile, seed 0)`);
    expect(io.out()).not.toContain('[3/5]');
  });

  it('the three sources have different data view hashes; the tree and its zip have the same items and image hashes', () => {
    expect([...records.keys()].sort()).toEqual(['recordio', 'tree', 'zip']);
    const trainHash = (name: Source['name']) => records.get(name)!.identity.data.train;
    expect(new Set(['tree', 'zip', 'recordio'].map((n) => trainHash(n as Source['name']))).size).toBe(3);
    expect(records.get('tree')!.identity.data.lfw).toBe(records.get('recordio')!.identity.data.lfw);
    expect(new Set([...records.values()].map((r) => r.runId)).size).toBe(3);

    const items = (s: Source) => dataViews(configOf(s)).train.items.map(({ rel, identity, label, sha256, landmarks }) => ({ rel, identity, label, sha256, landmarks }));
    const fromTree = items(tree);
    expect(fromTree).toHaveLength(IMAGES);
    expect(fromTree.every((it) => /^[0-9a-f]{64}$/.test(it.sha256!))).toBe(true);
    expect(items(zip)).toEqual(fromTree);
    // The SphereFace file's 1-based points are the generated 0-based ones.
    expect(fromTree[0].landmarks![0][0]).toBeCloseTo(Number(readFileSync(tree.landmarks!, 'utf8').split('\t')[2]) - 1, 9);
    const fromRec = dataViews(configOf(recordio)).train;
    expect(fromRec.identities).toHaveLength(COUNTS.length);
    expect(fromRec.items.every((it) => it.landmarks === null)).toBe(true);
  });

  it('a run killed after iteration 3 resumes from its iteration-2 checkpoint and records what the uninterrupted run did', async () => {
    freshRecords();
    const run = { ...EXPERIMENT, overrides: overridesOf(tree) };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ run, killAfterIteration: 3 } satisfies RunChildOptions)], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const childLines: string[] = [];
    child.on('message', (m: { line?: string }) => void (m.line && childLines.push(m.line)));
    const { signal } = await new Promise<{ signal: NodeJS.Signals | null }>((done) => child.on('exit', (_, s) => done({ signal: s })));
    expect(signal, stderr).toBe('SIGKILL');
    expect(childLines.some((l) => l.startsWith('[3/5] training'))).toBe(true);

    const lines: string[] = [];
    const record = await runExperiment({ ...run, log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('resuming'))).toMatch(/ckpt-00000002 \(iteration 2\)/);
    const stored = readRecord(root, record.runId);
    expect(stored.history.map((h) => h.iteration)).toEqual([1, 2, 3, 4]);
    expect(comparableRecord(stored)).toEqual(comparableRecord(records.get('tree')!));
  });
});
