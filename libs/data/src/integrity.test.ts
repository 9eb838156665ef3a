// Data integrity (issue #12 §4): the loaders check what they read against MANIFEST.sha256.
// Everything runs on small generated datasets in temp folders.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@sphereface/common';
import { loadCelebaSubset } from './datasets';
import { loadLfwPairs } from './lfw';
import { verifyManifest } from './manifest';
import type { DataRoot } from './paths';
import { writeManifest } from './test-data';

/** A decodable 150×150 JPEG, different for each seed. */
function jpegBytes(seed: number): Uint8Array {
  const data = new Uint8Array(150 * 150 * 4);
  for (let i = 0; i < data.length; i++) data[i] = ((i >> 2) * (seed + 3) + (i & 3) * 50 + seed * 31) & 255;
  return jpeg.encode({ width: 150, height: 150, data }, 90).data;
}

const LM = '\t60\t65\t90\t65\t75\t82\t62\t95\t88\t95';

/** A data root holding a 4-image LFW (pairs.txt: 1 fold, 1 same + 1 different pair) and a 2-identity CelebA subset. */
function fakeRoot(): { dataRoot: DataRoot; manifestCache: string } {
  const root = mkdtempSync(join(tmpdir(), 'sf-integrity-'));
  const put = (rel: string, bytes: Uint8Array | string) => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), bytes);
  };
  const lfw = ['A/A_0001.jpg', 'A/A_0002.jpg', 'B/B_0001.jpg', 'C/C_0001.jpg'];
  lfw.forEach((f, i) => put(`lfw/images_150/${f}`, jpegBytes(i)));
  put('lfw/landmarks/lfw_landmark_150.txt', lfw.map((f) => f + LM).join('\n') + '\n');
  put('lfw/pairs.txt', '1\t1\nA\t1\t2\nB\t1\tC\t1\n');
  writeManifest(join(root, 'lfw'));
  const celeba = ['00001/a.jpg', '00001/b.jpg', '00002/c.jpg', '00002/d.jpg'];
  celeba.forEach((f, i) => put(`celeba_subset/images_150/${f}`, jpegBytes(10 + i)));
  put('celeba_subset/landmarks/landmark_150.txt', celeba.map((f) => f + LM).join('\n') + '\n');
  put('celeba_subset/known_duplicates.tsv', 'sha256\timage_a\timage_b\tsame_identity\n');
  writeManifest(join(root, 'celeba_subset'));
  return { dataRoot: { path: root, source: 'env' }, manifestCache: join(root, 'verified') };
}

/** Line (1-based) of `rel` in the dataset's manifest. */
function manifestLine(datasetDir: string, rel: string): number {
  return readFileSync(join(datasetDir, 'MANIFEST.sha256'), 'utf8').split('\n').findIndex((l) => l.endsWith(`  ${rel}`)) + 1;
}

describe('the loaders verify what they use against MANIFEST.sha256', () => {
  it('a truncated training image is an error naming the file and its manifest line', () => {
    const { dataRoot, manifestCache } = fakeRoot();
    const dir = join(dataRoot.path, 'celeba_subset');
    expect(loadCelebaSubset({ dataRoot, manifestCache }).items).toHaveLength(4);
    const rel = 'images_150/00001/b.jpg';
    truncateSync(join(dir, rel), 900);
    const line = manifestLine(dir, rel);
    expect(() => loadCelebaSubset({ dataRoot, manifestCache })).toThrow(
      new RegExp(`${join(dir, rel)}: size 900 bytes, sha256 [0-9a-f]{64}; MANIFEST\\.sha256:${line} says ${sha256Hex(jpegBytes(11))}`),
    );
  });

  it('a replaced LFW image (same size, mtime restored) is an error too: the check also compares ctime', () => {
    const { dataRoot, manifestCache } = fakeRoot();
    const dir = join(dataRoot.path, 'lfw');
    expect(loadLfwPairs({ dataRoot, manifestCache }).pairs).toHaveLength(2);
    const path = join(dir, 'images_150/B/B_0001.jpg');
    const before = statSync(path);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10] ^= 0x55; // same size
    writeFileSync(path, bytes);
    utimesSync(path, before.atime, before.mtime);
    expect(() => loadLfwPairs({ dataRoot, manifestCache })).toThrow(
      new RegExp(`images_150/B/B_0001\\.jpg: size ${bytes.length} bytes, sha256 ${sha256Hex(bytes)}; MANIFEST\\.sha256:${manifestLine(dir, 'images_150/B/B_0001.jpg')} says`),
    );
  });

  it('a changed protocol or landmark file is an error before it is parsed', () => {
    const { dataRoot, manifestCache } = fakeRoot();
    writeFileSync(join(dataRoot.path, 'lfw', 'pairs.txt'), '1\t1\nA\t1\t2\nA\t1\tC\t1\n');
    expect(() => loadLfwPairs({ dataRoot, manifestCache })).toThrow(/pairs\.txt: size \d+ bytes, sha256 [0-9a-f]{64}; MANIFEST\.sha256:\d+ says/);
  });

  it('a file the loader uses must be listed in the manifest', () => {
    const { dataRoot, manifestCache } = fakeRoot();
    const dir = join(dataRoot.path, 'celeba_subset');
    copyFileSync(join(dir, 'images_150/00001/a.jpg'), join(dir, 'images_150/00001/e.jpg'));
    writeFileSync(join(dir, 'landmarks/landmark_150.txt'), ['a', 'b', 'e'].map((f) => `00001/${f}.jpg${LM}`).join('\n') + '\n');
    writeManifest(dir);
    const lines = readFileSync(join(dir, 'MANIFEST.sha256'), 'utf8').split('\n').filter((l) => !l.endsWith('e.jpg'));
    writeFileSync(join(dir, 'MANIFEST.sha256'), lines.join('\n'));
    expect(() => loadCelebaSubset({ dataRoot, manifestCache, onBad: 'skip' })).toThrow(/images_150\/00001\/e\.jpg: not listed in .*MANIFEST\.sha256/);
  });

  it('hashes a file once, then trusts an unchanged size, mtime and ctime (stat only)', () => {
    const { dataRoot, manifestCache } = fakeRoot();
    const dir = join(dataRoot.path, 'celeba_subset');
    const files = ['images_150/00001/a.jpg', 'images_150/00002/c.jpg'];
    const cacheFile = join(manifestCache, 'c.json');
    expect(verifyManifest(dir, { cacheFile, files })).toMatchObject({ files: 2, hashed: 2, fromCache: 0, ok: true });
    expect(verifyManifest(dir, { cacheFile, files })).toMatchObject({ files: 2, hashed: 0, fromCache: 2, ok: true });
    // a subset check keeps the other entries: the whole manifest now hashes only the rest
    expect(verifyManifest(dir, { cacheFile })).toMatchObject({ files: 6, hashed: 4, fromCache: 2, ok: true });
  });
});
