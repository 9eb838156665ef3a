import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { sha256Hex } from '@sphereface/common';
import { CropBatchProvider } from './batches';
import { DEFAULT_ALIGN } from './align';
import { loadCrops } from './crop-cache';
import { buildCropStore } from './crop-store';
import { loadCelebaSubset } from './datasets';
import { decodeImageFile, decodePgm } from './decode';
import { DataError, DatasetMissingError, formatSkipped } from './errors';
import { parseLandmarks } from './landmarks';
import { loadLfwPairs, pairImages, parsePairs, parsePeople } from './lfw';
import { type DataRoot, datasetDir } from './paths';
import { writeManifest } from './test-data';
import { CropPool } from './worker-pool';

/** A face-like 150×150 JPEG (only its decodability matters here). */
function jpegBytes(seed: number): Uint8Array {
  const data = new Uint8Array(150 * 150 * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + seed * 31) & 255;
  return jpeg.encode({ width: 150, height: 150, data }, 90).data;
}

const LM = '\t60\t65\t90\t65\t75\t82\t62\t95\t88\t95';

/** A data root with a small LFW: A (2 images), B (1 image, truncated JPEG), C (no landmarks). */
function fakeRoot(): DataRoot {
  const root = mkdtempSync(join(tmpdir(), 'sf-data-'));
  const lfw = join(root, 'lfw');
  const put = (rel: string, bytes: Uint8Array | string) => {
    mkdirSync(join(lfw, rel, '..'), { recursive: true });
    writeFileSync(join(lfw, rel), bytes);
  };
  put('images_150/A/A_0001.jpg', jpegBytes(1));
  put('images_150/A/A_0002.jpg', jpegBytes(2));
  put('images_150/B/B_0001.jpg', jpegBytes(3).subarray(0, 900));
  put('images_150/C/C_0001.jpg', jpegBytes(4));
  put('landmarks/lfw_landmark_150.txt', ['A/A_0001.jpg', 'A/A_0002.jpg', 'B/B_0001.jpg'].map((f) => f + LM).join('\n'));
  writeManifest(lfw);
  return { path: root, source: 'env' };
}

const pairsFile = (lines: string[]) => ['1\t2', ...lines].join('\n') + '\n';

describe('bad input is an error naming file and line, or a counted skip', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('cpu')).toBe(true);
  });

  it('malformed pairs lines', () => {
    const text = pairsFile(['A\t1\t2', 'A\t1\tx', 'A\t1\tB\t1', 'A\t2\tC']);
    expect(() => parsePairs(text, 'p.txt')).toThrow(/^p\.txt:3: expected name<TAB>i<TAB>j/);
    const r = parsePairs(text, 'p.txt', 'skip');
    expect(r.pairs.map((p) => p.line)).toEqual([2, 4]);
    expect(r.skipped.map((s) => s.line)).toEqual([3, 5]);
    expect(formatSkipped(r.skipped)).toMatch(/^2 input\(s\) skipped\n {2}p\.txt:3: /);
    expect(() => parsePairs('1\t2\nA\t1\t2\n', 'p.txt')).toThrow(/p\.txt: expected 5 lines/);
    expect(() => parsePairs('ten\n', 'p.txt')).toThrow(/p\.txt:1: header/);
    expect(() => parsePairs(pairsFile(['A\t1\t1', 'A\t1\t2', 'A\t1\tB\t1', 'A\t2\tC\t1']), 'p.txt')).toThrow(/p\.txt:2: pair of an image with itself/);
  });

  it('malformed people files', () => {
    expect(() => parsePeople('2\nA\t1\nB\tx\n', 'people.txt')).toThrow(/people\.txt:3: expected name<TAB>images/);
    expect(() => parsePeople('1\nA\t1\nB\t1\n', 'people.txt')).toThrow(/people\.txt:3: unexpected text/);
  });

  it('malformed landmark lines', () => {
    const text = ['a.jpg' + LM, 'b.jpg\t1\t2', 'c.jpg' + LM.replace('82', '8x2'), 'a.jpg' + LM].join('\n');
    expect(() => parseLandmarks(text, 'lm.txt', 0)).toThrow(/^lm\.txt:2: expected a path and 10 numbers/);
    const r = parseLandmarks(text, 'lm.txt', 1, 'skip');
    expect([...r.entries.keys()]).toEqual(['a.jpg']);
    expect(r.entries.get('a.jpg')!.points[0]).toEqual([59, 64]); // origin 1 -> 0-based
    expect(r.skipped.map((s) => [s.line, s.reason.slice(0, 20)])).toEqual([
      [2, 'expected a path and '],
      [3, 'field 7 is not a num'],
      [4, 'duplicate entry for '],
    ]);
  });

  it('missing image and image without landmarks in a pairs file', () => {
    const dataRoot = fakeRoot();
    const lfw = datasetDir('lfw', dataRoot);
    writeFileSync(join(lfw, 'pairs.txt'), pairsFile(['A\t1\t2', 'A\t1\t3', 'A\t1\tB\t1', 'A\t2\tC\t1']));
    writeManifest(lfw);
    const manifestCache = join(dataRoot.path, 'verified');
    expect(() => loadLfwPairs({ dataRoot, manifestCache })).toThrow(/pairs\.txt:3: missing image .*A_0003\.jpg/);
    const r = loadLfwPairs({ dataRoot, manifestCache, onBad: 'skip' });
    expect(r.pairs.map((p) => p.line)).toEqual([2, 4]);
    expect(r.skipped.map((s) => `${s.line} ${s.reason}`)).toEqual([
      expect.stringMatching(/^3 missing image/),
      expect.stringMatching(/^5 no landmarks for C\/C_0001\.jpg/),
    ]);
  });

  it('corrupt and missing images', () => {
    const dataRoot = fakeRoot();
    const img = (rel: string) => join(dataRoot.path, 'lfw', 'images_150', rel);
    expect(decodeImageFile(img('A/A_0001.jpg')).width).toBe(150);
    expect(() => decodeImageFile(img('B/B_0001.jpg'))).toThrow(/B_0001\.jpg: corrupt JPEG/);
    expect(() => decodeImageFile(img('A/A_0009.jpg'))).toThrow(/A_0009\.jpg: missing image \(ENOENT\)/);
    writeFileSync(img('A/junk.jpg'), 'not an image');
    expect(() => decodeImageFile(img('A/junk.jpg'))).toThrow(/junk\.jpg: corrupt JPEG: SOI not found/);
    const pgm = Buffer.concat([Buffer.from('P5\n# comment\n4 3\n255\n'), Buffer.alloc(12, 9)]);
    expect(decodePgm(pgm, 'x.pgm')).toMatchObject({ width: 4, height: 3, channels: 1 });
    expect(() => decodePgm(pgm.subarray(0, pgm.length - 1), 'x.pgm')).toThrow(/x\.pgm: truncated PGM: 11 of 12/);
    expect(() => decodePgm(Buffer.from('P2\n4 3\n255\n'), 'x.pgm')).toThrow(/x\.pgm: not a binary PGM/);
    expect(() => decodePgm(Buffer.from('P5\n4 x\n255\n'), 'x.pgm')).toThrow(/x\.pgm: corrupt PGM header/);
  });

  it('a corrupt image while building crops: error, or counted skip', async () => {
    const dataRoot = fakeRoot();
    const imageDir = join(dataRoot.path, 'lfw', 'images_150');
    const lm = parseLandmarks(readFileSync(join(dataRoot.path, 'lfw/landmarks/lfw_landmark_150.txt'), 'utf8'), 'lm', 0);
    const items = ['A/A_0001.jpg', 'B/B_0001.jpg', 'A/A_0002.jpg'].map((rel) => ({ rel, landmarks: lm.entries.get(rel)!.points }));
    const dir = join(dataRoot.path, 'cache');
    await expect(loadCrops(imageDir, items, { dir, workers: 0 })).rejects.toThrow(/B_0001\.jpg: corrupt JPEG/);
    const r = await loadCrops(imageDir, items, { dir, workers: 0, onBad: 'skip' });
    expect(Array.from(r.kept)).toEqual([0, 2]);
    expect(r.skipped).toEqual([{ file: join(imageDir, 'B/B_0001.jpg'), reason: expect.stringMatching(/^corrupt JPEG/) }]);
    const again = await loadCrops(imageDir, items, { dir, workers: 0, onBad: 'skip' });
    expect([again.status, again.skipped.length]).toEqual(['hit', 1]); // a cache hit still reports the skip
  });

  it('a corrupt image in a store build: error, the shards before it kept; or a counted skip that batches never see', async () => {
    const dataRoot = fakeRoot();
    const imageDir = join(dataRoot.path, 'lfw', 'images_150');
    const lm = parseLandmarks(readFileSync(join(dataRoot.path, 'lfw/landmarks/lfw_landmark_150.txt'), 'utf8'), 'lm', 0);
    const items = ['A/A_0001.jpg', 'B/B_0001.jpg', 'A/A_0002.jpg'].map((rel) => ({ rel, label: rel[0] === 'A' ? 0 : 1, landmarks: lm.entries.get(rel)!.points }));
    const dir = join(dataRoot.path, 'store');
    const o = { dir, workers: 0, shardSize: 1 }; // one image per shard
    await expect(buildCropStore(imageDir, items, o)).rejects.toThrow(/B_0001\.jpg: corrupt JPEG/);
    const [folder] = readdirSync(dir);
    expect(readdirSync(join(dir, folder)).sort()).toEqual(['shard-000000.bin']); // no store.json, nothing of B's shard
    const store = await buildCropStore(imageDir, items, { ...o, onBad: 'skip' });
    expect([store.status, Array.from(store.kept)]).toEqual(['resumed', [0, 2]]);
    expect(store.skipped).toEqual([{ file: join(imageDir, 'B/B_0001.jpg'), reason: expect.stringMatching(/^corrupt JPEG/) }]);
    // Batches are made of the stored crops only: two epochs of A's two images, each row one of them.
    const labels = Int32Array.from(store.kept, (k) => items[k].label);
    const provider = new CropBatchProvider(store, labels, 2, 0, { mirror: false });
    try {
      const crops = [0, 1].map((i) => Array.from(store.read(i), (v) => Math.fround((v - 127.5) / 128)));
      const size = crops[0].length;
      for (let k = 0; k < 2; k++) {
        const b = await provider.next(2);
        expect(Array.from(b.labels.dataSync())).toEqual([0, 0]);
        const x = b.images.dataSync();
        const rows = [0, 1].map((n) => crops.findIndex((c) => c.every((v, j) => v === x[n * size + j])));
        expect(rows.sort()).toEqual([0, 1]);
        tf.dispose([b.images, b.labels]);
      }
    } finally {
      await provider.close();
      store.close();
    }
  }, 60_000); // the provider's workers compile the sources on start (~2 s)

  it('landmarks outside the image: an error naming the landmark file and line, or a counted skip', async () => {
    const dataRoot = fakeRoot();
    const lfw = join(dataRoot.path, 'lfw');
    const far = LM.split('\t').map((v) => (v === '' ? v : String(Number(v) * 1000))).join('\t'); // the line ×1000
    const lmFile = join(lfw, 'landmarks/lfw_landmark_150.txt');
    writeFileSync(lmFile, ['A/A_0001.jpg' + LM, 'A/A_0002.jpg' + far, 'C/C_0001.jpg' + LM].join('\n') + '\n');
    writeFileSync(join(lfw, 'pairs.txt'), '1\t1\nA\t1\t2\nA\t1\tC\t1\n');
    writeManifest(lfw);
    const p = loadLfwPairs({ dataRoot, manifestCache: join(dataRoot.path, 'verified') });
    const dir = join(dataRoot.path, 'cache');
    await expect(loadCrops(p.imageDir, pairImages(p), { dir, workers: 0 })).rejects.toThrow(
      new RegExp(`^${lmFile}:2: landmarks of .*/A/A_0002\\.jpg lie outside its 150×150 image: left eye at \\(59999\\.2, 64999\\.2\\), right eye`),
    );
    const r = await loadCrops(p.imageDir, pairImages(p), { dir, workers: 0, onBad: 'skip' });
    expect(Array.from(r.kept)).toEqual([0, 2]);
    expect(r.skipped).toEqual([{ file: lmFile, line: 2, reason: expect.stringMatching(/^landmarks of .*\/A\/A_0002\.jpg lie outside/) }]);
  });

  it('degenerate landmarks (all zero): an error naming file and line when parsed, and from a worker', async () => {
    const zeros = '\t0'.repeat(10);
    const text = ['a.jpg' + LM, 'b.jpg' + zeros, 'c.jpg\t1\t1\t40\t1\t20\t1\t10\t1\t30\t1'].join('\n');
    expect(() => parseLandmarks(text, 'lm.txt', 0)).toThrow(/^lm\.txt:2: degenerate landmarks for b\.jpg: the eyes are 0\.00 px apart/);
    const r = parseLandmarks(text, 'lm.txt', 0, 'skip');
    expect([...r.entries.keys()]).toEqual(['a.jpg']);
    expect(r.skipped.map((s) => [s.line, s.reason.slice(0, 31)])).toEqual([
      [2, 'degenerate landmarks for b.jpg:'],
      [3, 'degenerate landmarks for c.jpg:'], // five points on one line
    ]);
    // landmarks made elsewhere reach the worker unchecked: it answers with the file and line, not a stack trace
    const dataRoot = fakeRoot();
    const path = join(dataRoot.path, 'lfw', 'images_150', 'A/A_0001.jpg');
    const pool = new CropPool(1);
    try {
      const [res] = await pool.run([{ path, landmarks: Array.from({ length: 5 }, () => [0, 0] as const), landmarksAt: { file: 'lm.txt', line: 7 } }], DEFAULT_ALIGN);
      expect(res).toMatchObject({ ok: false, skipped: { file: 'lm.txt', line: 7, reason: expect.stringMatching(/^degenerate landmarks for .*A_0001\.jpg: the eyes are 0\.00 px apart/) } });
    } finally {
      await pool.close();
    }
  }, 60_000); // a worker compiles the sources on start (~2 s)

  it('a store build rejects an image whose bytes are not those of its manifest hash, even under skip, and stores nothing of it', async () => {
    const dataRoot = fakeRoot();
    const imageDir = join(dataRoot.path, 'lfw', 'images_150');
    const lm = parseLandmarks(readFileSync(join(dataRoot.path, 'lfw/landmarks/lfw_landmark_150.txt'), 'utf8'), 'lm', 0);
    const items = ['A/A_0001.jpg', 'A/A_0002.jpg'].map((rel) => ({ rel, landmarks: lm.entries.get(rel)!.points, sha256: sha256Hex(jpegBytes(1)) }));
    const dir = join(dataRoot.path, 'store');
    await expect(buildCropStore(imageDir, items, { dir, workers: 0, onBad: 'skip' })).rejects.toThrow(
      new RegExp(`A_0002\\.jpg: the bytes read have sha256 ${sha256Hex(jpegBytes(2))}, not the expected ${sha256Hex(jpegBytes(1))}`),
    );
    const [folder] = readdirSync(dir);
    expect(readdirSync(join(dir, folder))).toEqual([]); // the shard holding it was not written
    expect(existsSync(join(dir, folder, 'store.json'))).toBe(false);
  });

  it('CelebA-style folders: image without landmarks, landmarks without image', () => {
    const root = mkdtempSync(join(tmpdir(), 'sf-celeba-'));
    const c = join(root, 'celeba_subset');
    mkdirSync(join(c, 'images_150', '00001'), { recursive: true });
    mkdirSync(join(c, 'landmarks'));
    writeFileSync(join(c, 'images_150', '00001', 'a.jpg'), jpegBytes(5));
    writeFileSync(join(c, 'images_150', '00001', 'b.jpg'), jpegBytes(6));
    writeFileSync(join(c, 'landmarks', 'landmark_150.txt'), ['00001/a.jpg', '00001/gone.jpg'].map((f) => f + LM).join('\n') + '\n');
    writeFileSync(join(c, 'known_duplicates.tsv'), 'sha256\timage_a\timage_b\tsame_identity\n');
    writeManifest(c);
    const dataRoot: DataRoot = { path: root, source: 'env' };
    const manifestCache = join(root, 'verified');
    expect(() => loadCelebaSubset({ dataRoot, manifestCache })).toThrow(/00001\/b\.jpg: image without landmarks/);
    const ds = loadCelebaSubset({ dataRoot, manifestCache, onBad: 'skip' });
    expect(ds.items.map((i) => i.rel)).toEqual(['00001/a.jpg']);
    expect(ds.skipped.map((s) => [s.file.endsWith('b.jpg') || s.file.endsWith('landmark_150.txt'), s.line])).toEqual([[true, undefined], [true, 2]]);
  });

  it('a missing dataset says what is missing and how to obtain it', () => {
    const root: DataRoot = { path: mkdtempSync(join(tmpdir(), 'sf-empty-')), source: 'env' };
    let err: unknown;
    try {
      datasetDir('lfw', root);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetMissingError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/dataset 'lfw' not found: .*lfw\/MANIFEST\.sha256 does not exist/);
    expect(msg).toMatch(/SPHEREFACE_DATA/);
    expect(msg).toMatch(/pairs\.txt {2}sha256 ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592/);
    expect(msg).toMatch(/vis-www\.cs\.umass\.edu\/lfw/);
    expect(new DataError('r', 'f', 3).message).toBe('f:3: r');
  });
});
