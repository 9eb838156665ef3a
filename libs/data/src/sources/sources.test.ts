import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '@sphereface/common';
import { datasetViewHash } from '../datasets';
import { dataError } from '../test-data';
import { ManifestError } from '../manifest';
import { cacheDir } from '../paths';
import { encode as encodePng } from 'fast-png';
import { detectLandmarkFormat, hashCacheFile, hashTreeFiles, imageSize, loadTrainingSet, parseSphereFaceLandmarks, type TrainingSet, ZipReader } from './index';
import { casiaFixture, type Fixture, projectLines, sphereFaceLines, tinyJpeg, writeZip } from './test-fixtures';

const open: TrainingSet[] = [];
const made: string[] = [];
function fixture(): Fixture {
  const f = casiaFixture();
  made.push(f.dir);
  return f;
}
function load(path: string, opts: Parameters<typeof loadTrainingSet>[1] = {}): TrainingSet {
  const s = loadTrainingSet(path, { hashCacheFile: join(path.replace(/\/[^/]*$/, ''), `hashes-${made.length}-${open.length}.json`), ...opts });
  open.push(s);
  return s;
}
function writeLines(f: Fixture, name: string, lines: string[]): string {
  const p = join(f.dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}
const hasZip = existsSync('/usr/bin/zip');
const hasUnzip = existsSync('/usr/bin/unzip');

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('identity-folder tree with a SphereFace landmark file', () => {
  it('sorts identities, labels them 0…n−1, and reads integer and float landmarks 1-based', () => {
    const f = fixture();
    const lm = writeLines(f, 'casia_landmark.txt', sphereFaceLines(f));
    expect(detectLandmarkFormat(readFileSync(lm, 'utf8'), lm)).toBe('sphereface');
    const s = load(f.root, { landmarks: { file: lm } });
    expect(s.identities).toEqual(['0000045', '0000099', '0000100', '0000157']);
    expect(s.items.map((it) => [it.rel, it.label])).toEqual(f.images.map((im) => [im.rel, im.label]));
    expect(s.preAligned).toBe(false);
    expect(s.skipped).toEqual([]);
    // Line 1 has integers, line 2 floats; origin 1 is subtracted.
    expect(readFileSync(lm, 'utf8').split('\n')[1]).toMatch(/\t8\.375\t/);
    for (const [i, it] of s.items.entries()) {
      expect(it.landmarks!.flat()).toEqual(f.images[i].values.map((v) => v - 1));
      expect(it.landmarksAt).toEqual({ file: lm, line: i + 1 });
      expect(it.sha256).toBe(sha256Hex(readFileSync(join(f.root, it.rel))));
    }
    expect(s.readImage('0000099/002.jpg')).toEqual(readFileSync(join(f.root, '0000099/002.jpg')));
    expect(s.provenance).toMatchObject({ dataset: 'path', source: { kind: 'tree', prefix: '' }, landmarks: { format: 'sphereface', origin: 1 } });
  });

  it('takes the project format (detected, origin 0) and VGGFace2-style names', () => {
    const f = fixture();
    const lm = writeLines(f, 'lm.txt', projectLines(f));
    const s = load(f.root, { landmarks: { file: lm } });
    expect(s.provenance.landmarks).toMatchObject({ format: 'project', origin: 0 });
    expect(s.items[1].landmarks!.flat()).toEqual(f.images[1].values);

    const v = mkdtempSync(join(tmpdir(), 'sf-vgg-'));
    made.push(v);
    for (const rel of ['n000002/0001_01.jpg', 'n000002/0002_01.png', 'n000001/0001_01.jpg', 'n000001/notes.txt']) {
      execFileSync('mkdir', ['-p', join(v, rel.split('/')[0])]);
      writeFileSync(join(v, rel), tinyJpeg(rel.length));
    }
    const g = load(v);
    expect(g.items.map((it) => `${it.label} ${it.rel}`)).toEqual(['0 n000001/0001_01.jpg', '1 n000002/0001_01.jpg', '1 n000002/0002_01.png']);
  });

  it('applies the identity filters: minimum images, then the first n identities', () => {
    const f = fixture();
    const lm = writeLines(f, 'lm.txt', sphereFaceLines(f));
    expect(load(f.root, { landmarks: { file: lm }, minImagesPerIdentity: 2 }).identities).toEqual(['0000045', '0000099', '0000157']);
    const s = load(f.root, { landmarks: { file: lm }, minImagesPerIdentity: 2, maxIdentities: 2 });
    expect(s.identities).toEqual(['0000045', '0000099']);
    expect(s.items.map((it) => it.label)).toEqual([0, 0, 0, 1, 1]);
    expect(s.provenance).toMatchObject({ minImagesPerIdentity: 2, maxIdentities: 2 });
  });
});

describe('bad input: a DataError with file and line, or a counted skip', () => {
  it('a malformed landmark line', () => {
    const f = fixture();
    const lines = sphereFaceLines(f);
    const cases: [string, string][] = [
      [lines[2].split('\t').slice(0, 11).join('\t'), 'expected path, label and 10 numbers separated by tabs, got 11 fields'],
      [lines[2].replace('\t0\t', '\tx\t'), 'label (field 2) is not a non-negative integer: "x"'],
      [lines[2].replace(/\t[^\t]*$/, '\t1e'), 'field 12 is not a number: "1e"'],
      [lines[2].replace(/\t0\t.*$/, '\t0' + '\t5'.repeat(10)), 'degenerate landmarks for CASIA-WebFace/0000045/003.jpg: the eyes are 0.00 px apart'],
    ];
    for (const [bad, reason] of cases) {
      const lm = writeLines(f, 'lm.txt', [...lines.slice(0, 2), bad, ...lines.slice(3)]);
      const e = dataError(() => load(f.root, { landmarks: { file: lm } }));
      expect(e.message).toContain(`${lm}:3: ${reason}`);
      expect([e.file, e.line]).toEqual([lm, 3]);
      // Skipped: that line is counted, and its image then has no landmarks (also counted).
      const s = load(f.root, { landmarks: { file: lm }, onBad: 'skip' });
      expect(s.skipped.map((k) => k.line ?? k.file)).toEqual([3, join(f.root, '0000045/003.jpg')]);
      expect(s.skipped[0].reason).toContain(reason);
      expect(s.skipped[1].reason).toBe(`image without landmarks (not in ${lm})`);
      expect(s.items).toHaveLength(9);
    }
  });

  it('a label that disagrees with its folder, either way round', () => {
    const f = fixture();
    const lines = sphereFaceLines(f);
    // Line 2: folder 0000045 given label 1 after line 1 gave it 0.
    let lm = writeLines(f, 'lm.txt', [lines[0], lines[1].replace('\t0\t', '\t1\t'), ...lines.slice(2)]);
    expect(dataError(() => load(f.root, { landmarks: { file: lm } })).message).toBe(
      `${lm}:2: label 1 for 0000045/002.jpg disagrees with its folder: line 1 gave folder 0000045 label 0`,
    );
    // Line 4: label 0 (already folder 0000045's) for folder 0000099, whose first line it is.
    lm = writeLines(f, 'lm.txt', [...lines.slice(0, 3), lines[3].replace('\t1\t', '\t0\t'), ...lines.slice(4)]);
    expect(dataError(() => load(f.root, { landmarks: { file: lm } })).message).toBe(
      `${lm}:4: label 0 for 0000099/001.jpg disagrees with its folder: line 1 gave label 0 to folder 0000045`,
    );
    const s = load(f.root, { landmarks: { file: lm }, onBad: 'skip' });
    expect(s.skipped.map((k) => `${k.file}:${k.line}`)).toEqual([`${lm}:4`, `${join(f.root, '0000099/001.jpg')}:undefined`]);
    expect(s.items.map((it) => it.rel)).not.toContain('0000099/001.jpg');
  });

  it('landmarks for an image that does not exist, and an image without a landmark line', () => {
    const f = fixture();
    const lines = sphereFaceLines(f);
    let lm = writeLines(f, 'lm.txt', [...lines, lines[4].replace('0000099/002.jpg', '0000099/007.jpg')]);
    expect(dataError(() => load(f.root, { landmarks: { file: lm } })).message).toBe(
      `${lm}:11: landmarks for a missing image ${join(f.root, '0000099/007.jpg')}`,
    );
    lm = writeLines(f, 'lm.txt', lines.filter((_, i) => i !== 6));
    const e = dataError(() => load(f.root, { landmarks: { file: lm } }));
    expect(e.message).toBe(`${join(f.root, '0000157/001.jpg')}: image without landmarks (not in ${lm})`);
    expect(e.line).toBeUndefined();
    const s = load(f.root, { landmarks: { file: lm }, onBad: 'skip' });
    expect(s.skipped).toHaveLength(1);
    expect(s.items.map((it) => it.rel)).not.toContain('0000157/001.jpg');
    expect(s.identities).toHaveLength(4);
  });

  it('a landmark file of neither format, and a missing training set', () => {
    const f = fixture();
    const lm = writeLines(f, 'lm.txt', ['', 'a\tb\tc']);
    expect(dataError(() => load(f.root, { landmarks: { file: lm } })).message).toMatch(new RegExp(`^${lm}:2: cannot tell the landmark format: 3 tab-separated fields`));
    expect(dataError(() => loadTrainingSet(join(f.dir, 'nope'))).message).toContain('training set not found');
  });

  it('parseSphereFaceLandmarks keeps the label column and rejects duplicates', () => {
    const t = parseSphereFaceLandmarks('a/1.jpg\t7\t1\t1\t9\t1\t5\t5\t2\t9\t8\t9\na/1.jpg\t7\t1\t1\t9\t1\t5\t5\t2\t9\t8\t9\n', 'f.txt', 1, 'skip');
    expect(t.entries.get('a/1.jpg')).toMatchObject({ label: 7, line: 1, points: [[0, 0], [8, 0], [4, 4], [1, 8], [7, 8]] });
    expect(t.skipped).toEqual([{ file: 'f.txt', line: 2, reason: 'duplicate entry for a/1.jpg (first on line 1)' }]);
  });
});

describe('pre-aligned crops (no landmark file)', () => {
  it('lists every image with null landmarks and says so', () => {
    const f = fixture();
    const s = load(f.root);
    expect(s.preAligned).toBe(true);
    expect(s.items).toHaveLength(10);
    expect(s.items.every((it) => it.landmarks === null && it.landmarksAt === undefined)).toBe(true);
    expect(s.provenance.landmarks).toBe('none (pre-aligned crops)');
  });
});

describe('pre-aligned crops of a given size', () => {
  it('reads JPEG and PNG sizes from their headers', () => {
    expect(imageSize(tinyJpeg(1, 96, 112))).toEqual({ width: 96, height: 112 });
    expect(imageSize(Buffer.from(encodePng({ width: 112, height: 96, data: new Uint8Array(112 * 96 * 3), channels: 3, depth: 8 })))).toEqual({ width: 112, height: 96 });
    expect(imageSize(Buffer.from('P5\n96 112\n255\n'))).toBeNull();
    expect(imageSize(tinyJpeg(1).subarray(0, 30))).toBeNull();
    // A start of scan before any frame header: no size (what follows is entropy-coded data).
    expect(imageSize(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xc0, 0, 17, 8, 0, 16, 0, 32, 3]))).toBeNull();
  });

  it('checks every image against cropSize, in a tree and in a zip', () => {
    const f = fixture();
    const s = load(f.root, { cropSize: { width: 24, height: 28 } });
    expect(s.items).toHaveLength(10);
    expect(s.provenance).toMatchObject({ cropSize: { width: 24, height: 28 } });
    writeFileSync(join(f.root, '0000099/002.jpg'), tinyJpeg(3, 24, 112));
    writeFileSync(join(f.root, '0000157/003.jpg'), 'not an image');
    expect(dataError(() => load(f.root, { cropSize: { width: 24, height: 28 } })).message).toBe(`${join(f.root, '0000099/002.jpg')}: image is 24x112, not the crop size 24x28`);
    const k = load(f.root, { cropSize: { width: 24, height: 28 }, onBad: 'skip' });
    expect(k.skipped.map((x) => x.reason)).toEqual(['image is 24x112, not the crop size 24x28', 'not a JPEG or PNG (no size in its header)']);
    expect(k.items).toHaveLength(8);
    const zp = join(f.dir, 'crops.zip');
    writeZip(zp, f.images.map((im) => [im.rel, readFileSync(join(f.root, im.rel))]));
    expect(dataError(() => load(zp, { cropSize: { width: 24, height: 28 } })).message).toBe(`${zp}!/0000099/002.jpg: image is 24x112, not the crop size 24x28`);
    expect(() => loadTrainingSet(f.root, { cropSize: { width: 24, height: 28 }, landmarks: { file: 'x' } })).toThrow('cropSize is for pre-aligned crops');
  });
});

describe('the same tree inside a .zip, read in place', () => {
  function zipOf(f: Fixture, method: 0 | 8, withTop = true): string {
    const p = join(f.dir, `casia-${method}-${withTop}.zip`);
    const entries: [string, Buffer][] = f.images.map((im) => [`${withTop ? `${f.top}/` : ''}${im.rel}`, readFileSync(join(f.root, im.rel))]);
    writeZip(p, [[withTop ? `${f.top}/` : 'readme/', Buffer.alloc(0)], ...entries], method);
    return p;
  }

  it.skipIf(!hasUnzip)('the test zip writer makes files that Info-ZIP unzip accepts', () => {
    const f = fixture();
    for (const m of [0, 8] as const) expect(execFileSync('/usr/bin/unzip', ['-tq', zipOf(f, m)]).toString()).toContain('No errors detected');
  });

  it('lists entries and reads one image by name (stored and deflated), checking its CRC', () => {
    const f = fixture();
    for (const m of [0, 8] as const) {
      const z = new ZipReader(zipOf(f, m));
      expect([...z.entries.keys()]).toHaveLength(11);
      expect(z.entries.get('CASIA-WebFace/0000100/001.jpg')!.method).toBe(m);
      expect(z.read('CASIA-WebFace/0000100/001.jpg')).toEqual(readFileSync(join(f.root, '0000100/001.jpg')));
      expect(dataError(() => z.read('CASIA-WebFace/0000100/002.jpg')).message).toBe(`${z.path}!/CASIA-WebFace/0000100/002.jpg: no such entry in the zip`);
      z.close();
    }
    // UTF-8 names (flag bit 11), and a method other than stored/deflate.
    const u = join(f.dir, 'utf8.zip');
    writeZip(u, [['Zoë Ångström/001.jpg', tinyJpeg(5)]]);
    const zu = new ZipReader(u);
    expect([...zu.entries.keys()]).toEqual(['Zoë Ångström/001.jpg']);
    expect(zu.read('Zoë Ångström/001.jpg')).toEqual(tinyJpeg(5));
    zu.entries.get('Zoë Ångström/001.jpg')!.method = 12;
    expect(dataError(() => zu.read('Zoë Ångström/001.jpg')).message).toBe(`${u}!/Zoë Ångström/001.jpg: unsupported compression method 12 (only stored and deflate)`);
    zu.close();
    // One flipped byte inside a stored image's data: the CRC says so.
    const p = zipOf(f, 0);
    const z0 = new ZipReader(p);
    const e = z0.entries.get('CASIA-WebFace/0000045/002.jpg')!;
    z0.close();
    const bytes = readFileSync(p);
    bytes[e.localOffset + 30 + e.name.length + 100] ^= 0xff;
    writeFileSync(p, bytes);
    const z = new ZipReader(p);
    expect(dataError(() => z.read(e.name)).message).toBe(`${p}!/${e.name}: CRC-32 mismatch`);
    z.close();
    writeFileSync(p, bytes.subarray(0, 100));
    expect(dataError(() => new ZipReader(p)).message).toBe(`${p}: not a zip file (no end-of-central-directory record)`);
  });

  it('gives the same identities, items, landmarks and image hashes as the tree, with or without a top folder', () => {
    const f = fixture();
    const lm = writeLines(f, 'lm.txt', sphereFaceLines(f));
    const tree = load(f.root, { landmarks: { file: lm } });
    for (const withTop of [true, false]) {
      const s = load(zipOf(f, 8, withTop), { landmarks: { file: lm } });
      expect(s.source).toMatchObject({ kind: 'zip', prefix: withTop ? 'CASIA-WebFace/' : '' });
      expect(s.identities).toEqual(tree.identities);
      expect(s.items.map(({ landmarksAt, ...it }) => it)).toEqual(tree.items.map(({ landmarksAt, ...it }) => it));
      expect(s.readImage('0000157/004.jpg')).toEqual(readFileSync(join(f.root, '0000157/004.jpg')));
      expect(s.describe('0000157/004.jpg')).toBe(`${s.source.path}!/${withTop ? 'CASIA-WebFace/' : ''}0000157/004.jpg`);
    }
    // A zip image without a landmark line is named by its entry.
    const zp = zipOf(f, 8);
    const short = writeLines(f, 'short.txt', sphereFaceLines(f).slice(0, 9));
    expect(dataError(() => load(zp, { landmarks: { file: short } })).message).toBe(`${zp}!/CASIA-WebFace/0000157/004.jpg: image without landmarks (not in ${short})`);
  });

  it.skipIf(!hasZip)('reads zips written by Info-ZIP zip, zip64 included', () => {
    const f = fixture();
    const tree = load(f.root);
    for (const flags of [['-qr'], ['-qr', '-fz']]) {
      const p = join(f.dir, `info-${flags.length}.zip`);
      execFileSync('/usr/bin/zip', [...flags, p, f.top], { cwd: f.dir });
      const s = load(p);
      expect(s.items.map((it) => [it.rel, it.label, it.sha256])).toEqual(tree.items.map((it) => [it.rel, it.label, it.sha256]));
    }
  });
});

describe('hashing a tree without a MANIFEST.sha256, once', () => {
  it('hashes every image on the first call and only stats them on the second; a changed file is hashed again', () => {
    const f = fixture();
    const cache = join(f.dir, 'cache.json');
    const rels = f.images.map((im) => im.rel);
    const a = hashTreeFiles(f.root, rels, { cacheFile: cache });
    expect([a.hashed, a.fromCache]).toEqual([10, 0]);
    expect(a.sha256.get('0000099/001.jpg')).toBe(sha256Hex(readFileSync(join(f.root, '0000099/001.jpg'))));
    const b = hashTreeFiles(f.root, rels, { cacheFile: cache });
    expect([b.hashed, b.fromCache]).toEqual([0, 10]);
    expect(b.sha256).toEqual(a.sha256);
    writeFileSync(join(f.root, '0000099/001.jpg'), tinyJpeg(99));
    utimesSync(join(f.root, '0000099/001.jpg'), new Date(), new Date(Date.now() + 5000));
    const c = hashTreeFiles(f.root, rels, { cacheFile: cache });
    expect([c.hashed, c.fromCache]).toEqual([1, 9]);
    expect(c.sha256.get('0000099/001.jpg')).toBe(sha256Hex(tinyJpeg(99)));
    // Hashing a subset (one of it changed) keeps the cached hashes of the others.
    writeFileSync(join(f.root, rels[0]), tinyJpeg(98));
    utimesSync(join(f.root, rels[0]), new Date(), new Date(Date.now() + 9000));
    expect(hashTreeFiles(f.root, rels.slice(0, 3), { cacheFile: cache })).toMatchObject({ hashed: 1, fromCache: 2 });
    expect(hashTreeFiles(f.root, rels, { cacheFile: cache })).toMatchObject({ hashed: 0, fromCache: 10 });
  });

  it('loadTrainingSet and a zip use the cache too, and the view hash follows the images', () => {
    const f = fixture();
    const cache = join(f.dir, 'c.json');
    const one = loadTrainingSet(f.root, { hashCacheFile: cache });
    const two = loadTrainingSet(f.root, { hashCacheFile: cache });
    expect([one.hashes, two.hashes]).toEqual([{ from: 'hash-cache', hashed: 10, fromCache: 0 }, { from: 'hash-cache', hashed: 0, fromCache: 10 }]);
    const align = { width: 96, height: 112 };
    expect(datasetViewHash(two, align)).toBe(datasetViewHash(one, align));
    writeFileSync(join(f.root, '0000045/001.jpg'), tinyJpeg(77));
    utimesSync(join(f.root, '0000045/001.jpg'), new Date(), new Date(Date.now() + 5000));
    expect(datasetViewHash(loadTrainingSet(f.root, { hashCacheFile: cache }), align)).not.toBe(datasetViewHash(one, align));

    const zp = join(f.dir, 'set.zip');
    writeZip(zp, f.images.map((im) => [im.rel, readFileSync(join(f.root, im.rel))]));
    const zc = join(f.dir, 'z.json');
    expect(load(zp, { hashCacheFile: zc }).hashes).toEqual({ from: 'hash-cache', hashed: 10, fromCache: 0 });
    expect(load(zp, { hashCacheFile: zc }).hashes).toEqual({ from: 'hash-cache', hashed: 0, fromCache: 10 });
    utimesSync(zp, new Date(), new Date(Date.now() + 5000));
    expect(load(zp, { hashCacheFile: zc }).hashes).toEqual({ from: 'hash-cache', hashed: 10, fromCache: 0 });
  });

  it('keeps the default cache outside the data, under the package cache folder, keyed by the absolute path', () => {
    const f = fixture();
    const file = hashCacheFile(f.root);
    expect(file.startsWith(cacheDir('source-hashes'))).toBe(true);
    expect(file).toBe(hashCacheFile(join(f.root, '..', f.top)));
    try {
      expect(loadTrainingSet(f.root).hashes.hashed).toBe(10);
      expect(loadTrainingSet(f.root).hashes.fromCache).toBe(10);
      expect(statSync(file).isFile()).toBe(true);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('uses and verifies a MANIFEST.sha256 when the tree has one', () => {
    const f = fixture();
    const manifest = f.images.map((im) => `${sha256Hex(readFileSync(join(f.root, im.rel)))}  ${im.rel}`).join('\n') + '\n';
    writeFileSync(join(f.root, 'MANIFEST.sha256'), manifest);
    const s = loadTrainingSet(f.root, { hashCacheFile: join(f.dir, 'unused.json') });
    expect(s.hashes.from).toBe('manifest');
    expect(existsSync(join(f.dir, 'unused.json'))).toBe(false);
    expect(s.items[0].sha256).toBe(manifest.slice(0, 64));
    writeFileSync(join(f.root, '0000045/002.jpg'), tinyJpeg(1234));
    expect(() => loadTrainingSet(f.root)).toThrow(ManifestError);
  });
});
