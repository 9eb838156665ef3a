import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '@sphereface/common';
import { assertManifestOk, verifyManifest } from './manifest';
import { datasetDir } from './paths';
import { dataRoot, haveDataset } from './test-data';

function fakeDataset() {
  const dir = mkdtempSync(join(tmpdir(), 'sf-manifest-'));
  const files: Record<string, string> = { 'a.txt': 'alpha', 'b.txt': 'beta', 'c.txt': 'gamma' };
  for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
  const lines = Object.entries(files).map(([f, t]) => `${sha256Hex(t)}  ${f}`);
  writeFileSync(join(dir, 'MANIFEST.sha256'), lines.join('\n') + '\n');
  return { dir, cacheFile: join(dir, '..', `${dir.split('/').pop()}-cache.json`) };
}

describe('verifyManifest', () => {
  it('hashes on the first run, trusts unchanged size+mtime+ctime later, re-hashes changed files', () => {
    const { dir, cacheFile } = fakeDataset();
    expect(verifyManifest(dir, { cacheFile })).toMatchObject({ files: 3, fromCache: 0, hashed: 3, ok: true, problems: [] });
    expect(verifyManifest(dir, { cacheFile })).toMatchObject({ files: 3, fromCache: 3, hashed: 0, ok: true });

    // same size, new mtime: re-hashed and found different
    writeFileSync(join(dir, 'a.txt'), 'ALPHA');
    const r = verifyManifest(dir, { cacheFile });
    expect(r.fromCache).toBe(2);
    expect(r.problems).toEqual([{ file: 'a.txt', problem: 'sha256 mismatch', expected: sha256Hex('alpha'), line: 1, actual: sha256Hex('ALPHA'), size: 5 }]);
    expect(() => assertManifestOk(r)).toThrow(
      new RegExp(`MANIFEST\\.sha256: 1 of 3 checked files fail .*\n {2}${dir}/a\\.txt: size 5 bytes, sha256 ${sha256Hex('ALPHA')}; MANIFEST\\.sha256:1 says ${sha256Hex('alpha')}`),
    );

    // same mtime, different size: re-hashed too
    writeFileSync(join(dir, 'a.txt'), 'alpha');
    verifyManifest(dir, { cacheFile });
    const t = new Date('2020-01-01T00:00:00Z');
    utimesSync(join(dir, 'b.txt'), t, t);
    verifyManifest(dir, { cacheFile });
    writeFileSync(join(dir, 'b.txt'), 'beta!');
    utimesSync(join(dir, 'b.txt'), t, t);
    expect(verifyManifest(dir, { cacheFile }).problems.map((p) => p.file)).toEqual(['b.txt']);
  });

  it('reports missing files and malformed manifest lines', () => {
    const { dir, cacheFile } = fakeDataset();
    writeFileSync(join(dir, 'MANIFEST.sha256'), `${sha256Hex('x')}  gone.txt\n`);
    expect(verifyManifest(dir, { cacheFile }).problems).toEqual([{ file: 'gone.txt', problem: 'missing', expected: sha256Hex('x'), line: 1 }]);
    expect(verifyManifest(dir, { cacheFile, files: ['a.txt'] }).problems).toEqual([{ file: 'a.txt', problem: 'not listed' }]);
    writeFileSync(join(dir, 'MANIFEST.sha256'), `${sha256Hex('x')}  gone.txt\nnot a line\n`);
    expect(() => verifyManifest(dir, { cacheFile })).toThrow(/MANIFEST\.sha256:2: not a sha256sum line/);
  });

  it.skipIf(!haveDataset('att_faces'))('verifies a shared dataset (att_faces), then from cache', () => {
    const dir = datasetDir('att_faces', dataRoot);
    const cacheFile = join(mkdtempSync(join(tmpdir(), 'sf-mcache-')), 'att.json');
    expect(verifyManifest(dir, { cacheFile })).toMatchObject({ files: 401, fromCache: 0, ok: true });
    expect(verifyManifest(dir, { cacheFile })).toMatchObject({ files: 401, fromCache: 401, ok: true });
  });
});
